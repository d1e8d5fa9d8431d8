using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Cxas.IO
{
    /// <summary>
    /// Writes outputs under a temporary name beside their destination and renames them only when complete, so a
    /// failure or a stop never leaves a half-written file. Existing outputs are kept unless overwriting is asked for.
    /// <para>
    /// Temporary names are short and fixed in form, whatever the final name: <c>.cxas-&lt;host&gt;-&lt;pid&gt;-&lt;random&gt;.tmp</c>,
    /// where host is 8 hex digits of the SHA-256 of the machine name and pid the writing process. A run that is killed
    /// or hits a full disk can leave one behind; <see cref="RemoveStaleTemporaries"/> removes those of this machine whose
    /// process is gone, and any older than <see cref="StaleAge"/> (other machines' writers on a shared folder), nothing else.
    /// </para>
    /// </summary>
    internal static class AtomicOutput
    {
        /// <summary>Age after which a temporary of another machine is taken as abandoned.</summary>
        public static readonly TimeSpan StaleAge = TimeSpan.FromHours(24);

        private static readonly Regex TempPattern = new Regex(@"^\.cxas-([0-9a-f]{8})-([0-9]{1,10})-[0-9a-f]{8}\.tmp$", RegexOptions.CultureInvariant);
        private static readonly string HostTag = SafeName.Hash8(Environment.MachineName.ToLowerInvariant());
        private static readonly int ProcessId = Process.GetCurrentProcess().Id;

        public static string TempNameFor(string finalPath) =>
            Path.Combine(Path.GetDirectoryName(Path.GetFullPath(finalPath)) ?? ".",
                ".cxas-" + HostTag + "-" + ProcessId + "-" + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp");

        /// <summary>Whether a file or folder name has the form of a Cxas temporary.</summary>
        public static bool IsTemporaryName(string name) => TempPattern.IsMatch(name);

        /// <summary>Whether <paramref name="path"/> is a folder or a link (symbolic link, junction) where a run expects a
        /// regular file of its own: such an entry is never opened or followed (it may lead anywhere).</summary>
        public static bool IsLinkOrFolder(string path)
        {
            if (Directory.Exists(path)) return true;
            var info = new FileInfo(path);
            return info.Exists && (info.Attributes & FileAttributes.ReparsePoint) != 0;
        }

        /// <summary>
        /// Gives what a run keeps for itself in an output folder (the plan's journal, its lock file, the result records)
        /// the Hidden attribute on Windows, as the leading dot of their names hides them elsewhere: Explorer and
        /// Get-ChildItem then list only the outputs. Best effort: a file system without attributes leaves them shown.
        /// </summary>
        public static void HideOnWindows(string path)
        {
            if (Path.DirectorySeparatorChar != '\\') return;
            try
            {
                var attributes = File.GetAttributes(path);
                if ((attributes & FileAttributes.Hidden) == 0) File.SetAttributes(path, attributes | FileAttributes.Hidden);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
        }

        /// <summary>
        /// Removes abandoned Cxas temporaries directly inside <paramref name="directory"/> (not below it): those written on this
        /// machine by a process that no longer runs, and those older than <see cref="StaleAge"/>. Returns how many were removed.
        /// </summary>
        public static int RemoveStaleTemporaries(string directory)
        {
            int removed = 0;
            string[] entries;
            try { entries = Directory.GetFileSystemEntries(directory, ".cxas-*.tmp"); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return 0; }
            foreach (var entry in entries)
            {
                var match = TempPattern.Match(Path.GetFileName(entry));
                if (!match.Success) continue;
                bool stale;
                try
                {
                    var age = DateTime.UtcNow - (Directory.Exists(entry) ? Directory.GetLastWriteTimeUtc(entry) : File.GetLastWriteTimeUtc(entry));
                    stale = age > StaleAge || (match.Groups[1].Value == HostTag && !IsRunning(int.Parse(match.Groups[2].Value)));
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is OverflowException) { continue; }
                if (!stale) continue;
                TryDelete(entry);
                if (!File.Exists(entry) && !Directory.Exists(entry)) removed++;
            }
            return removed;
        }

        private static bool IsRunning(int pid)
        {
            if (pid == ProcessId) return true;
            try
            {
                using var p = Process.GetProcessById(pid);
                return !p.HasExited;
            }
            catch (ArgumentException) { return false; }
            catch (InvalidOperationException) { return false; }
        }

        public static void EnsureWritable(string finalPath, bool overwrite)
        {
            if (!overwrite && (File.Exists(finalPath) || Directory.Exists(finalPath)))
                throw new CxasException(CxasErrorKind.AlreadyExists, $"'{finalPath}' already exists.", finalPath, remedy: CxasRemedy.Overwrite);
        }

        /// <summary>Creates a folder, turning failures into <see cref="CxasErrorKind.WriteFailed"/>.</summary>
        public static void CreateDirectory(string path)
        {
            try { Directory.CreateDirectory(path); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NotSupportedException)
            {
                throw new CxasException(CxasErrorKind.WriteFailed, $"Cannot create the folder '{path}': {ex.Message}", path, ex);
            }
        }

        /// <summary>Writes one file through <paramref name="write"/> and renames it into place.</summary>
        public static void WriteFile(string finalPath, bool overwrite, Action<Stream> write)
        {
            EnsureWritable(finalPath, overwrite);
            var dir = Path.GetDirectoryName(Path.GetFullPath(finalPath))!;
            CreateDirectory(dir);
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
        public static void WriteDirectory(string finalPath, bool overwrite, Action<string> write, Func<string, bool>? replaceable = null)
        {
            EnsureWritable(finalPath, overwrite);
            var parent = Path.GetDirectoryName(Path.GetFullPath(finalPath))!;
            CreateDirectory(parent);
            var temp = TempNameFor(finalPath);
            try
            {
                Directory.CreateDirectory(temp);
                write(temp);
                Commit(temp, finalPath, overwrite, isDirectory: true, replaceable);
            }
            catch (Exception ex)
            {
                TryDelete(temp);
                throw Wrap(ex, finalPath);
            }
        }

        /// <summary>
        /// Moves a finished temporary file or folder onto its final name. An existing folder is replaced only when
        /// <paramref name="replaceable"/> accepts it (by default: it holds files only, no subfolders), so a folder of
        /// someone else's data is never deleted to make room.
        /// </summary>
        public static void Commit(string temp, string finalPath, bool overwrite, bool isDirectory, Func<string, bool>? replaceable = null)
        {
            if (File.Exists(finalPath) || Directory.Exists(finalPath))
            {
                if (!overwrite)
                    throw new CxasException(CxasErrorKind.AlreadyExists, $"'{finalPath}' already exists.", finalPath, remedy: CxasRemedy.Overwrite);
                if (!isDirectory && File.Exists(finalPath))
                {
                    File.Replace(temp, finalPath, null);
                    return;
                }
                if (Directory.Exists(finalPath))
                {
                    if (!(replaceable ?? HoldsFilesOnly)(finalPath))
                        throw new CxasException(CxasErrorKind.AlreadyExists,
                            $"'{finalPath}' already exists and is not an output Cxas would write there; it is left as it is.", finalPath);
                    Directory.Delete(finalPath, recursive: true);
                }
                else File.Delete(finalPath);
            }
            if (isDirectory) Directory.Move(temp, finalPath);
            else File.Move(temp, finalPath);
        }

        /// <summary>A folder that holds regular files only (no subfolders, no links).</summary>
        public static bool HoldsFilesOnly(string directory) =>
            !Directory.EnumerateDirectories(directory).Any() &&
            new DirectoryInfo(directory).EnumerateFiles().All(f => (f.Attributes & FileAttributes.ReparsePoint) == 0);

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
