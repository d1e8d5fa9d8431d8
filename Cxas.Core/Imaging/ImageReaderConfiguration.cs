
namespace Cxas.Imaging
{
    /// <summary>
    /// One image format: a recogniser that looks at the file's first <see cref="HeaderSize"/> bytes, and the decoder.
    /// A format is one class, registered into an <see cref="ImageReaderConfiguration"/>; nothing else names it.
    /// </summary>
    public interface IImageReader
    {
        /// <summary>Short format name ("PNG").</summary>
        string Format { get; }
        /// <summary>File extensions (lower case, with dot) a folder scan picks up for this format.</summary>
        IReadOnlyCollection<string> Extensions { get; }
        /// <summary>How many leading bytes <see cref="Recognise"/> needs to decide (it is given fewer for a shorter file).</summary>
        int HeaderSize { get; }
        /// <summary>Whether the file's first bytes belong to this format.</summary>
        bool Recognise(ReadOnlySpan<byte> head);
        /// <summary>Decodes the file, refusing a declared size beyond <paramref name="options"/> before allocating pixels.</summary>
        SourceImage Read(string path, ImageReadOptions options);
    }

    /// <summary>
    /// The image readers one program uses and the limits it decodes within, after ImageSharp's Configuration:
    /// <list type="number">
    /// <item>Readers are registered in order; a format name is registered once (a later reader of the same name is ignored).</item>
    /// <item>A file is identified by content: the configuration reads the largest <see cref="IImageReader.HeaderSize"/> of
    /// its readers from the start of the file, and the first reader that recognises those bytes reads the file.</item>
    /// <item>Each read gets <see cref="ImageReadOptions"/>: the ones passed in, else the configuration's <see cref="Options"/>.</item>
    /// <item>Any failure of a reader that is not already a <see cref="CxasException"/> becomes an InvalidData error naming the file.</item>
    /// </list>
    /// <see cref="Default"/> holds every built-in format: the composition root (<c>Cxas.Composition</c>) registers them when
    /// the assembly loads and then makes it read-only, so no caller can change what every other caller reads with. A
    /// program with readers of its own registers them on a <see cref="Clone"/> (or a new configuration) and hands that
    /// to what reads (the run's <c>CxasConfiguration</c>, <c>SegmentationQueue</c>, <c>FolderScanner</c>).
    /// </summary>
    public sealed class ImageReaderConfiguration
    {
        private readonly List<IImageReader> _readers = new List<IImageReader>();
        private readonly object _gate = new object();

        /// <summary>A configuration holding <paramref name="readers"/>, in order, decoding within <paramref name="options"/> (default limits when null).</summary>
        public ImageReaderConfiguration(ImageReadOptions? options = null, params IImageReader[] readers)
        {
            Options = options ?? ImageReadOptions.Default;
            foreach (var reader in readers) Register(reader);
        }

        /// <summary>The built-in formats at default limits, read-only: what <see cref="ImageLoader"/> and callers given no configuration use.</summary>
        public static ImageReaderConfiguration Default { get; } = new ImageReaderConfiguration();

        /// <summary>The limits of a read that is given none.</summary>
        public ImageReadOptions Options { get; }

        /// <summary>Whether <see cref="Register"/> is refused (<see cref="Default"/> is).</summary>
        public bool IsReadOnly { get; private set; }

        /// <summary>Refuses any later registration (the composition root, once <see cref="Default"/> is filled).</summary>
        internal ImageReaderConfiguration MakeReadOnly()
        {
            IsReadOnly = true;
            return this;
        }

        /// <summary>A writable configuration holding the same readers, in order, with <paramref name="options"/> (else these limits).</summary>
        public ImageReaderConfiguration Clone(ImageReadOptions? options = null) => new ImageReaderConfiguration(options ?? Options, Readers.ToArray());

        /// <summary>Adds a reader after the others; a read-only configuration refuses (InvalidOperationException).</summary>
        public void Register(IImageReader reader)
        {
            if (reader == null) throw new ArgumentNullException(nameof(reader));
            if (IsReadOnly)
                throw new InvalidOperationException("The default image reader configuration is read-only: register on a Clone() of it and hand that to the run.");
            lock (_gate)
            {
                if (!_readers.Any(r => r.Format == reader.Format)) _readers.Add(reader);
            }
        }

        public IReadOnlyList<IImageReader> Readers
        {
            get { lock (_gate) return _readers.ToArray(); }
        }

        /// <summary>How many leading bytes identification reads: the most any registered reader needs.</summary>
        public int HeaderSize => Readers.Select(r => r.HeaderSize).DefaultIfEmpty(0).Max();

        /// <summary>Extensions a folder scan includes.</summary>
        public ISet<string> KnownExtensions =>
            new HashSet<string>(Readers.SelectMany(r => r.Extensions), StringComparer.OrdinalIgnoreCase);

        /// <summary>The reader for a file's content, or null when no reader recognises it.</summary>
        public IImageReader? Identify(string path)
        {
            var readers = Readers;
            var head = new byte[readers.Select(r => r.HeaderSize).DefaultIfEmpty(0).Max()];
            int n = 0;
            using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                int r;
                while (n < head.Length && (r = fs.Read(head, n, head.Length - n)) > 0) n += r;
            }
            foreach (var reader in readers)
                if (reader.Recognise(new ReadOnlySpan<byte>(head, 0, Math.Min(n, reader.HeaderSize)))) return reader;
            return null;
        }

        /// <summary>Decodes a file with the reader its content names, within <paramref name="options"/> (else <see cref="Options"/>).</summary>
        public SourceImage Load(string path, ImageReadOptions? options = null)
        {
            if (!File.Exists(path))
                throw new CxasException(CxasErrorKind.NotFound, $"'{path}' does not exist.", path);
            if (new FileInfo(path).Length == 0)
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' is empty.", path);
            var reader = Identify(path)
                ?? throw new CxasException(CxasErrorKind.InvalidData,
                    $"'{path}' is not an image Cxas can read (its content is not {string.Join(", ", Readers.Select(r => r.Format))}).", path);
            try
            {
                return reader.Read(path, options ?? Options);
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
