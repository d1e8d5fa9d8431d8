namespace Cxas.Imaging
{
    /// <summary>Bounds applied before any pixel buffer is allocated.</summary>
    public static class ImageLimits
    {
        /// <summary>Largest accepted width or height.</summary>
        public static int MaxSide { get; set; } = 30000;
        /// <summary>Largest accepted pixel count (width x height); a 12000x10000 radiograph still fits.</summary>
        public static long MaxPixels { get; set; } = 150_000_000;

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
