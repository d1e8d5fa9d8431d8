using Cxas.IO;
using SixLabors.ImageSharp.Formats.Png;

namespace Cxas.Imaging
{
    /// <summary>
    /// PNG (1-16 bit grey, RGB, palette, with or without alpha) through ImageSharp, converted to 8-bit RGB as the
    /// reference does (see <see cref="ImageSharpDecoding"/>).
    /// <list type="number">
    /// <item><see cref="PngChecker"/> proves the file whole, streaming with fixed buffers: chunks, CRCs, the whole zlib
    /// stream; it applies the read's <see cref="ImageReadOptions"/> to IHDR before anything the size of the image is allocated.</item>
    /// <item>8-bit grey, grey + alpha, RGB and RGBA files that are not interlaced (radiographs, nearly always) are decoded
    /// by <see cref="PngPixels"/> from the rows the check inflates; ImageSharp decodes the others from the critical chunks only (never a
    /// compressed ancillary one), metadata ignored.</item>
    /// </list>
    /// Memory per image stays within <see cref="ImageLimits.DecodeMemoryBound"/>: ImageSharp's Rgb24 image and our copy
    /// take 3 + 3 bytes a pixel.
    /// </summary>
    public sealed class PngReader : IImageReader
    {
        public string Format => "PNG";
        public IReadOnlyCollection<string> Extensions { get; } = new[] { ".png" };
        public int HeaderSize => 8;

        public bool Recognise(ReadOnlySpan<byte> h) =>
            h.Length >= 8 && h[0] == 0x89 && h[1] == 'P' && h[2] == 'N' && h[3] == 'G' && h[4] == 0x0D && h[5] == 0x0A && h[6] == 0x1A && h[7] == 0x0A;

        public SourceImage Read(string path, ImageReadOptions options)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            PngPixels? pixels = null;
            var layout = PngChecker.Check(stream, path, options,
                header => PngPixels.Handles(header) ? (pixels = new PngPixels(header, path)).Add : (Action<byte[]>?)null);
            if (pixels != null) return pixels.ToImage();
            return ImageSharpDecoding.Decode(new SegmentStream(stream, layout.Critical), new PngDecoder { IgnoreMetadata = true }, path, Format, options);
        }
    }
}
