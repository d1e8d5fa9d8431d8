
namespace Cxas.Imaging
{
    /// <summary>
    /// A decoded image at its own resolution, as the model's preprocessing sees it: each channel in [0,1].
    /// Grey rasters present the same value on R, G and B (the reference copies DICOM grey into three channels).
    /// </summary>
    public abstract class ImageRaster
    {
        protected ImageRaster(int width, int height)
        {
            if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width));
            Width = width;
            Height = height;
        }

        public int Width { get; }
        public int Height { get; }

        /// <summary>Channel value in [0,1] at (x, y); channel 0..2 = R, G, B.</summary>
        public abstract float GetValue(int x, int y, int channel);

        /// <summary>An 8-bit RGB row for display (overlays, reports).</summary>
        public abstract void GetRgb24Row(int y, Span<byte> destination);
    }

    /// <summary>8-bit RGB pixels, stored interleaved.</summary>
    public sealed class Rgb24Raster : ImageRaster
    {
        private readonly byte[] _rgb;

        public Rgb24Raster(int width, int height, byte[] rgb) : base(width, height)
        {
            if (rgb.Length < (long)width * height * 3) throw new ArgumentException("Pixel buffer too small.", nameof(rgb));
            _rgb = rgb;
        }

        public byte[] Pixels => _rgb;

        public override float GetValue(int x, int y, int channel) => _rgb[(y * Width + x) * 3 + channel] / 255f;

        public override void GetRgb24Row(int y, Span<byte> destination) =>
            new ReadOnlySpan<byte>(_rgb, y * Width * 3, Width * 3).CopyTo(destination);
    }

    /// <summary>Single-channel pixels already scaled to [0,1] (DICOM after its LUTs and min-max scaling).</summary>
    public sealed class GrayRaster : ImageRaster
    {
        private readonly float[] _values;

        public GrayRaster(int width, int height, float[] values) : base(width, height)
        {
            if (values.Length < (long)width * height) throw new ArgumentException("Pixel buffer too small.", nameof(values));
            _values = values;
        }

        public float[] Values => _values;

        public override float GetValue(int x, int y, int channel) => _values[y * Width + x];

        public override void GetRgb24Row(int y, Span<byte> destination)
        {
            int o = y * Width;
            for (int x = 0; x < Width; x++)
            {
                float v = _values[o + x];
                byte b = v <= 0 ? (byte)0 : v >= 1 ? (byte)255 : (byte)(v * 255f + 0.5f);
                destination[3 * x] = destination[3 * x + 1] = destination[3 * x + 2] = b;
            }
        }
    }
}
