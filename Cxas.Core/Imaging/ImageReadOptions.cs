namespace Cxas.Imaging
{
    /// <summary>
    /// The bounds one decode works within, checked against a file's header before any pixel buffer is allocated. An
    /// options object handed to each read (<see cref="ImageReaderConfiguration.Load(string, ImageReadOptions?)"/>), never
    /// a global setting: a caller that wants other limits makes its own.
    /// </summary>
    public sealed class ImageReadOptions
    {
        /// <summary>The limits every read uses unless given others.</summary>
        public static ImageReadOptions Default { get; } = new ImageReadOptions();

        /// <summary>Largest accepted width or height.</summary>
        public int MaxSide { get; init; } = 30000;
        /// <summary>Largest accepted pixel count (width x height); a 12000x10000 radiograph still fits.</summary>
        public long MaxPixels { get; init; } = 150_000_000;

        /// <summary>
        /// For tests and the mutation bench: this read's ImageSharp buffers come from the GC instead of its unmanaged pool,
        /// so that <c>GC.GetTotalAllocatedBytes</c> counts every byte the decode allocates (slower: large arrays cost GCs).
        /// A property of the read, so that one caller measuring never changes how another decodes.
        /// </summary>
        internal bool CountAllocations { get; init; }

        /// <summary>The default limits, with <see cref="CountAllocations"/>.</summary>
        internal static ImageReadOptions Counting { get; } = new ImageReadOptions { CountAllocations = true };

        /// <summary>Throws InvalidData for an empty size, LimitExceeded for one beyond the limits.</summary>
        public void Check(string path, long width, long height)
        {
            if (width <= 0 || height <= 0)
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' declares an empty image ({width}x{height}).", path);
            if (width > MaxSide || height > MaxSide || width * height > MaxPixels)
                throw new CxasException(CxasErrorKind.LimitExceeded,
                    $"'{path}' declares {width}x{height} pixels, beyond the limit ({MaxSide} per side, {MaxPixels:N0} in all).", path);
        }
    }

    /// <summary>What a PNG or JPEG decode may allocate, as a function of the pixels its header declares.</summary>
    public static class ImageLimits
    {
        /// <summary>Bytes a PNG or JPEG decode may allocate for each pixel its header declares (see docs/using.md, Errors).</summary>
        public const int DecodeBytesPerPixel = 16;
        /// <summary>Bytes a PNG or JPEG decode may allocate whatever the image's size: buffers, tables, metadata (at most 1 MiB a chunk).</summary>
        public const long DecodeFixedBytes = 8L << 20;

        /// <summary>
        /// The most a PNG or JPEG decode allocates in all (an upper bound of its peak): <see cref="DecodeBytesPerPixel"/>
        /// per declared pixel, the file's size once, and <see cref="DecodeFixedBytes"/>. Within the default pixel limits
        /// this is at most 2.4 GB plus the file.
        /// </summary>
        public static long DecodeMemoryBound(long pixels, long fileBytes) => DecodeBytesPerPixel * pixels + fileBytes + DecodeFixedBytes;
    }
}
