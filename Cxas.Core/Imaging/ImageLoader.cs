using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Cxas.Imaging
{
    /// <summary>A reader for one image format, recognised by content.</summary>
    public interface IImageReader
    {
        /// <summary>Short format name ("PNG").</summary>
        string Format { get; }
        /// <summary>File extensions (lower case, with dot) a folder scan picks up for this format.</summary>
        IReadOnlyCollection<string> Extensions { get; }
        /// <summary>Whether the file's first bytes (up to 132, fewer for short files) belong to this format.</summary>
        bool Recognise(ReadOnlySpan<byte> head);
        SourceImage Read(string path);
    }

    /// <summary>Picks the reader by file content, never by extension alone.</summary>
    public static class ImageLoader
    {
        private static readonly List<IImageReader> Readers = new List<IImageReader> { new PngJpegReader(), new Cxas.Dicom.DicomImageReader() };
        private static readonly object Gate = new object();

        public static void Register(IImageReader reader)
        {
            lock (Gate)
            {
                if (!Readers.Any(r => r.Format == reader.Format)) Readers.Add(reader);
            }
        }

        public static IReadOnlyList<IImageReader> All
        {
            get { lock (Gate) return Readers.ToArray(); }
        }

        /// <summary>Extensions a folder scan includes.</summary>
        public static ISet<string> KnownExtensions =>
            new HashSet<string>(All.SelectMany(r => r.Extensions), StringComparer.OrdinalIgnoreCase);

        /// <summary>The reader for a file's content, or null when no reader recognises it.</summary>
        public static IImageReader? Identify(string path)
        {
            var head = new byte[132];
            int n;
            using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                n = 0;
                int r;
                while (n < head.Length && (r = fs.Read(head, n, head.Length - n)) > 0) n += r;
            }
            var span = new ReadOnlySpan<byte>(head, 0, n);
            foreach (var reader in All)
                if (reader.Recognise(span)) return reader;
            return null;
        }

        public static SourceImage Load(string path)
        {
            if (!File.Exists(path))
                throw new CxasException(CxasErrorKind.NotFound, $"'{path}' does not exist.", path);
            var length = new FileInfo(path).Length;
            if (length == 0)
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' is empty.", path);
            var reader = Identify(path);
            if (reader == null)
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"'{path}' is not an image Cxas can read (its content is not {string.Join(", ", All.Select(r => r.Format))}).", path);
            try
            {
                return reader.Read(path);
            }
            catch (CxasException)
            {
                throw;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' cannot be read: {ex.Message}", path, ex);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException) && !(ex is OperationCanceledException))
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' is not a valid {reader.Format} file: {ex.Message}", path, ex);
            }
        }
    }
}
