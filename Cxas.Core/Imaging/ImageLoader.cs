
namespace Cxas.Imaging
{
    /// <summary>
    /// Reads images through <see cref="ImageReaderConfiguration.Default"/>: the readers of every built-in format, default
    /// limits. It adds nothing (the default is read-only); other readers go in a configuration of one's own.
    /// </summary>
    public static class ImageLoader
    {
        public static IReadOnlyList<IImageReader> All => ImageReaderConfiguration.Default.Readers;

        /// <summary>Extensions a folder scan includes.</summary>
        public static ISet<string> KnownExtensions => ImageReaderConfiguration.Default.KnownExtensions;

        /// <summary>The reader for a file's content, or null when no reader recognises it.</summary>
        public static IImageReader? Identify(string path) => ImageReaderConfiguration.Default.Identify(path);

        public static SourceImage Load(string path, ImageReadOptions? options = null) => ImageReaderConfiguration.Default.Load(path, options);
    }
}
