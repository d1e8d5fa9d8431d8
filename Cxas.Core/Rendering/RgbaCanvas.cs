using Cxas.Imaging;
using Cxas.Masks;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Cxas.Rendering
{
    /// <summary>
    /// An RGBA raster with the few primitives overlays need: source-over blending of pixels, mask fills and
    /// outlines, anti-aliased thick lines and discs, rectangles and bitmap text. Coordinates are in canvas pixels with
    /// the centre of pixel (x, y) at (x + 0.5, y + 0.5).
    /// </summary>
    public sealed class RgbaCanvas
    {
        public RgbaCanvas(int width, int height)
        {
            if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width));
            Width = width;
            Height = height;
            Pixels = new byte[checked(width * height * 4)];
        }

        public int Width { get; }
        public int Height { get; }
        /// <summary>RGBA bytes, row by row.</summary>
        public byte[] Pixels { get; }

        public Rgba this[int x, int y]
        {
            get
            {
                int o = (y * Width + x) * 4;
                return new Rgba(Pixels[o], Pixels[o + 1], Pixels[o + 2], Pixels[o + 3]);
            }
        }

        /// <summary>Copies an image into the canvas, scaled to the canvas size by nearest sampling, fully opaque.</summary>
        public void DrawImage(ImageRaster image)
        {
            var row = new byte[image.Width * 3];
            var cols = SourceIndex(image.Width, Width);
            int previous = -1;
            for (int y = 0; y < Height; y++)
            {
                int sy = (int)Math.Min(image.Height - 1, (long)y * image.Height / Height);
                if (sy != previous) { image.GetRgb24Row(sy, row); previous = sy; }
                int o = y * Width * 4;
                for (int x = 0; x < Width; x++)
                {
                    int s = cols[x] * 3;
                    Pixels[o + 4 * x] = row[s];
                    Pixels[o + 4 * x + 1] = row[s + 1];
                    Pixels[o + 4 * x + 2] = row[s + 2];
                    Pixels[o + 4 * x + 3] = 255;
                }
            }
        }

        /// <summary>Blends <paramref name="color"/> over pixel (x, y) with its alpha times <paramref name="coverage"/>.</summary>
        public void Blend(int x, int y, Rgba color, double coverage = 1.0)
        {
            if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
            double sa = color.A / 255.0 * coverage;
            if (sa <= 0) return;
            int o = (y * Width + x) * 4;
            if (sa >= 1)
            {
                Pixels[o] = color.R; Pixels[o + 1] = color.G; Pixels[o + 2] = color.B; Pixels[o + 3] = 255;
                return;
            }
            double da = Pixels[o + 3] / 255.0;
            double oa = sa + da * (1 - sa);
            double kd = da * (1 - sa);
            Pixels[o] = Clamp((color.R * sa + Pixels[o] * kd) / oa);
            Pixels[o + 1] = Clamp((color.G * sa + Pixels[o + 1] * kd) / oa);
            Pixels[o + 2] = Clamp((color.B * sa + Pixels[o + 2] * kd) / oa);
            Pixels[o + 3] = Clamp(oa * 255);
        }

        /// <summary>
        /// Fills class <paramref name="c"/> of <paramref name="masks"/> (sampled at the canvas size by nearest mapping of
        /// canvas pixels to image pixels) and outlines it with an inner band of <paramref name="outlineWidth"/> pixels.
        /// </summary>
        public void DrawClass(MaskSet masks, int c, Rgba fill, Rgba outline, int outlineWidth)
        {
            var inside = SampleClass(masks, c);
            DrawMask(inside, fill, outline, outlineWidth);
        }

        /// <summary>The class at canvas size as one byte per pixel (1 = inside).</summary>
        public byte[] SampleClass(MaskSet masks, int c)
        {
            var inside = new byte[Width * Height];
            var cols = SourceIndex(masks.Width, Width);
            for (int y = 0; y < Height; y++)
            {
                int sy = (int)Math.Min(masks.Height - 1, (long)y * masks.Height / Height);
                int o = y * Width;
                for (int x = 0; x < Width; x++) inside[o + x] = masks[c, cols[x], sy] ? (byte)1 : (byte)0;
            }
            return inside;
        }

        /// <summary>Fills the pixels marked 1 in <paramref name="inside"/> (canvas size) and outlines them.</summary>
        public void DrawMask(byte[] inside, Rgba fill, Rgba outline, int outlineWidth)
        {
            for (int y = 0; y < Height; y++)
            {
                int o = y * Width;
                for (int x = 0; x < Width; x++)
                {
                    if (inside[o + x] == 0) continue;
                    bool edge = false;
                    for (int k = 1; k <= outlineWidth && !edge; k++)
                        edge = x - k < 0 || x + k >= Width || y - k < 0 || y + k >= Height
                            || inside[o + x - k] == 0 || inside[o + x + k] == 0
                            || inside[o - k * Width + x] == 0 || inside[o + k * Width + x] == 0;
                    Blend(x, y, edge ? outline : fill);
                }
            }
        }

        /// <summary>A line of <paramref name="thickness"/> pixels with round caps, anti-aliased at its border.</summary>
        public void Line(double x0, double y0, double x1, double y1, double thickness, Rgba color)
        {
            double r = thickness / 2;
            int minX = (int)Math.Floor(Math.Min(x0, x1) - r - 1), maxX = (int)Math.Ceiling(Math.Max(x0, x1) + r + 1);
            int minY = (int)Math.Floor(Math.Min(y0, y1) - r - 1), maxY = (int)Math.Ceiling(Math.Max(y0, y1) + r + 1);
            minX = Math.Max(0, minX); minY = Math.Max(0, minY);
            maxX = Math.Min(Width - 1, maxX); maxY = Math.Min(Height - 1, maxY);
            double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
            for (int y = minY; y <= maxY; y++)
            {
                for (int x = minX; x <= maxX; x++)
                {
                    double px = x + 0.5, py = y + 0.5;
                    double t = len2 > 0 ? Math.Max(0, Math.Min(1, ((px - x0) * dx + (py - y0) * dy) / len2)) : 0;
                    double ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
                    double coverage = r + 0.5 - Math.Sqrt(ex * ex + ey * ey);
                    if (coverage > 0) Blend(x, y, color, Math.Min(1, coverage));
                }
            }
        }

        /// <summary>A dashed line: dashes of <paramref name="dash"/> pixels separated by gaps of the same length.</summary>
        public void DashedLine(double x0, double y0, double x1, double y1, double thickness, double dash, Rgba color)
        {
            double length = Math.Sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0));
            if (length == 0 || dash <= 0) { Line(x0, y0, x1, y1, thickness, color); return; }
            for (double s = 0; s < length; s += 2 * dash)
            {
                double e = Math.Min(length, s + dash);
                Line(x0 + (x1 - x0) * s / length, y0 + (y1 - y0) * s / length,
                     x0 + (x1 - x0) * e / length, y0 + (y1 - y0) * e / length, thickness, color);
            }
        }

        /// <summary>A filled disc, anti-aliased at its border.</summary>
        public void Disc(double cx, double cy, double radius, Rgba color) => Line(cx, cy, cx, cy, 2 * radius, color);

        public void FillRect(int x, int y, int width, int height, Rgba color)
        {
            for (int yy = Math.Max(0, y); yy < Math.Min(Height, y + height); yy++)
                for (int xx = Math.Max(0, x); xx < Math.Min(Width, x + width); xx++)
                    Blend(xx, yy, color);
        }

        /// <summary>Draws text with its top-left corner at (x, y), each font cell <paramref name="scale"/> pixels square.</summary>
        public void Text(int x, int y, string text, int scale, Rgba color)
        {
            for (int i = 0; i < text.Length; i++)
            {
                var glyph = BitmapFont.Glyph(text[i]);
                int gx = x + i * BitmapFont.Advance * scale;
                for (int r = 0; r < BitmapFont.GlyphHeight; r++)
                    for (int k = 0; k < BitmapFont.GlyphWidth; k++)
                        if ((glyph[r] & (1 << (BitmapFont.GlyphWidth - 1 - k))) != 0)
                            FillRect(gx + k * scale, y + r * scale, scale, scale, color);
            }
        }

        /// <summary>True when every pixel is fully opaque.</summary>
        public bool IsOpaque()
        {
            for (int i = 3; i < Pixels.Length; i += 4) if (Pixels[i] != 255) return false;
            return true;
        }

        /// <summary>PNG: RGB when the canvas is opaque, RGBA otherwise.</summary>
        public void SavePng(Stream output)
        {
            using var image = Image.LoadPixelData<Rgba32>(Pixels, Width, Height);
            image.SaveAsPng(output, new PngEncoder
            {
                ColorType = IsOpaque() ? PngColorType.Rgb : PngColorType.RgbWithAlpha,
                BitDepth = PngBitDepth.Bit8,
                CompressionLevel = PngCompressionLevel.DefaultCompression,
            });
        }

        /// <summary>JPEG of the colour channels (alpha dropped); for opaque backgrounds.</summary>
        public void SaveJpeg(Stream output, int quality = 88)
        {
            using var image = Image.LoadPixelData<Rgba32>(Pixels, Width, Height);
            using var rgb = image.CloneAs<Rgb24>();
            rgb.SaveAsJpeg(output, new JpegEncoder { Quality = quality });
        }

        public byte[] ToPng()
        {
            using var ms = new MemoryStream();
            SavePng(ms);
            return ms.ToArray();
        }

        public byte[] ToJpeg(int quality = 88)
        {
            using var ms = new MemoryStream();
            SaveJpeg(ms, quality);
            return ms.ToArray();
        }

        private static byte Clamp(double v) => v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)(v + 0.5);

        /// <summary>For each destination index, the source index it samples (floor(d * src / dst)).</summary>
        private static int[] SourceIndex(int sourceSize, int destinationSize)
        {
            var map = new int[destinationSize];
            for (int d = 0; d < destinationSize; d++) map[d] = (int)Math.Min(sourceSize - 1, (long)d * sourceSize / destinationSize);
            return map;
        }
    }
}
