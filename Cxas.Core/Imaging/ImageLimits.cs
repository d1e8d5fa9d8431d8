namespace Cxas.Imaging
{
    /// <summary>Bounds applied before any pixel buffer is allocated.</summary>
    public static class ImageLimits
    {
        /// <summary>Largest accepted width or height.</summary>
        public static int MaxSide { get; set; } = 30000;
        /// <summary>Largest accepted pixel count (width x height); a 12000x10000 radiograph still fits.</summary>
        public static long MaxPixels { get; set; } = 150_000_000;

        /// <summary>Bytes a PNG or JPEG decode may allocate for each pixel its header declares (see README, Errors).</summary>
        public const int DecodeBytesPerPixel = 16;
        /// <summary>Bytes a PNG or JPEG decode may allocate whatever the image's size: buffers, tables, metadata (at most 1 MiB a chunk).</summary>
        public const long DecodeFixedBytes = 8L << 20;

        /// <summary>
        /// The most a PNG or JPEG decode allocates in all (an upper bound of its peak): <see cref="DecodeBytesPerPixel"/>
        /// per declared pixel, the file's size once, and <see cref="DecodeFixedBytes"/>. Within the pixel limits this is
        /// at most 2.4 GB plus the file.
        /// </summary>
        public static long DecodeMemoryBound(long pixels, long fileBytes) => DecodeBytesPerPixel * pixels + fileBytes + DecodeFixedBytes;

        public static void Check(string path, long width, long height)
        {
            if (width <= 0 || height <= 0)
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' declares an empty image ({width}x{height}).", path);
            if (width > MaxSide || height > MaxSide || width * height > MaxPixels)
                throw new CxasException(CxasErrorKind.LimitExceeded,
                    $"'{path}' declares {width}x{height} pixels, beyond the limit ({MaxSide} per side, {MaxPixels:N0} in all).", path);
        }
    }
}
