using System;
using System.IO;

namespace Cxas.IO
{
    /// <summary>
    /// Writes outputs under a temporary name beside their destination and renames them only when complete, so a
    /// failure or a stop never leaves a half-written file. Existing outputs are kept unless overwriting is asked for.
    /// </summary>
    public static class AtomicOutput
    {
        public static string TempNameFor(string finalPath) =>
            Path.Combine(Path.GetDirectoryName(finalPath) ?? ".", "." + Path.GetFileName(finalPath) + ".cxas-" + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp");

        public static void EnsureWritable(string finalPath, bool overwrite)
        {
            if (!overwrite && (File.Exists(finalPath) || Directory.Exists(finalPath)))
                throw new CxasException(CxasErrorKind.AlreadyExists, $"'{finalPath}' already exists (use -Force to overwrite it).", finalPath);
        }

        /// <summary>Writes one file through <paramref name="write"/> and renames it into place.</summary>
        public static void WriteFile(string finalPath, bool overwrite, Action<Stream> write)
        {
            EnsureWritable(finalPath, overwrite);
            var dir = Path.GetDirectoryName(Path.GetFullPath(finalPath))!;
            Directory.CreateDirectory(dir);
            var temp = TempNameFor(finalPath);
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    write(stream);
                }
                Commit(temp, finalPath, overwrite, isDirectory: false);
            }
            catch (Exception ex)
            {
                TryDelete(temp);
                throw Wrap(ex, finalPath);
            }
        }

        /// <summary>Fills a temporary folder through <paramref name="write"/> and renames it into place.</summary>
        public static void WriteDirectory(string finalPath, bool overwrite, Action<string> write)
        {
            EnsureWritable(finalPath, overwrite);
            var parent = Path.GetDirectoryName(Path.GetFullPath(finalPath))!;
            Directory.CreateDirectory(parent);
            var temp = TempNameFor(finalPath);
            try
            {
                Directory.CreateDirectory(temp);
                write(temp);
                Commit(temp, finalPath, overwrite, isDirectory: true);
            }
            catch (Exception ex)
            {
                TryDelete(temp);
                throw Wrap(ex, finalPath);
            }
        }

        /// <summary>Moves a finished temporary file or folder onto its final name.</summary>
        public static void Commit(string temp, string finalPath, bool overwrite, bool isDirectory)
        {
            if (File.Exists(finalPath) || Directory.Exists(finalPath))
            {
                if (!overwrite)
                    throw new CxasException(CxasErrorKind.AlreadyExists, $"'{finalPath}' already exists (use -Force to overwrite it).", finalPath);
                if (!isDirectory && File.Exists(finalPath))
                {
                    File.Replace(temp, finalPath, null);
                    return;
                }
                if (Directory.Exists(finalPath)) Directory.Delete(finalPath, recursive: true);
                else File.Delete(finalPath);
            }
            if (isDirectory) Directory.Move(temp, finalPath);
            else File.Move(temp, finalPath);
        }

        public static void TryDelete(string path)
        {
            try
            {
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                else if (File.Exists(path)) File.Delete(path);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        private static Exception Wrap(Exception ex, string finalPath)
        {
            if (ex is CxasException) return ex;
            if (ex is IOException || ex is UnauthorizedAccessException)
                return new CxasException(CxasErrorKind.WriteFailed, $"Cannot write '{finalPath}': {ex.Message}", finalPath, ex);
            return ex;
        }
    }
}
