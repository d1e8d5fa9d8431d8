using SixLabors.ImageSharp.Formats.Jpeg;

namespace Cxas.Imaging
{
    /// <summary>
    /// JPEG (baseline, extended and progressive, Huffman-coded) through ImageSharp, converted to 8-bit RGB as the
    /// reference does (see <see cref="ImageSharpDecoding"/>).
    /// <list type="number">
    /// <item>The file is read whole (at most 2 GiB).</item>
    /// <item><see cref="JpegChecker"/> proves it whole: markers, tables, every scan's entropy-coded data to its last MCU;
    /// it applies the read's <see cref="ImageReadOptions"/> to the frame header before anything the size of the image is allocated.</item>
    /// <item>ImageSharp decodes the pixels, metadata (EXIF orientation too) ignored.</item>
    /// </list>
    /// Memory per image stays within <see cref="ImageLimits.DecodeMemoryBound"/>: the file's size, the progressive
    /// checker's 8 bytes per 8x8 block of each component, ImageSharp's Rgb24 image and our copy (3 + 3 bytes a pixel),
    /// its progressive coefficients up to 2 bytes per sample of each component (12.4 bytes a pixel in all measured for
    /// progressive 4:4:4 RGB).
    /// </summary>
    public sealed class JpegReader : IImageReader
    {
        public string Format => "JPEG";
        public IReadOnlyCollection<string> Extensions { get; } = new[] { ".jpg", ".jpeg" };
        public int HeaderSize => 3;

        public bool Recognise(ReadOnlySpan<byte> h) => h.Length >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF;

        public SourceImage Read(string path, ImageReadOptions options)
        {
            byte[] data;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                data = ImageSharpDecoding.ReadWhole(stream, path, Format);
            JpegChecker.Check(data, path, options);
            return ImageSharpDecoding.Decode(new MemoryStream(data, writable: false), new JpegDecoder { IgnoreMetadata = true }, path, Format, options);
        }
    }
}
