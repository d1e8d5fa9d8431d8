using System;
using System.Collections.Generic;
using System.IO;
using Cxas.IO;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;

namespace Cxas.Imaging
{
    /// <summary>
    /// PNG (1-16 bit grey, RGB, palette, with or without alpha) and JPEG through ImageSharp, converted to 8-bit RGB
    /// as the reference does (<c>PIL.Image.convert("RGB")</c>: alpha dropped, not composited; EXIF orientation ignored).
    /// 16-bit samples are scaled to 8 bits (v*255/65535, rounded); PIL would clip them at 255 instead.
    /// ImageSharp fills what is missing from a damaged file silently, so each file is first proved whole by our own
    /// checks, which also apply the read's <see cref="ImageReadOptions"/> to the header before anything the size of the image is
    /// allocated: a PNG by <see cref="PngChecker"/> (chunks, CRCs, the whole zlib stream; ImageSharp then sees only
    /// the critical chunks, never a compressed ancillary one), a JPEG by <see cref="JpegChecker"/> (markers, tables,
    /// every scan's entropy-coded data to its last MCU). ImageSharp then decodes the pixels, metadata ignored.
    /// Memory per image stays within <see cref="ImageLimits.DecodeMemoryBound"/>: the PNG checks stream with fixed
    /// buffers; a JPEG is held whole (the file's size), with the progressive checker's 8 bytes per 8x8 block of each
    /// component; ImageSharp's Rgb24 image and our copy take 3 + 3 bytes a pixel, its progressive JPEG coefficients up
    /// to 2 bytes per sample of each component (12.4 bytes a pixel in all measured for progressive 4:4:4 RGB).
    /// </summary>
    public sealed class PngJpegReader : IImageReader
    {
        /// <summary>For tests and the mutation bench: see <see cref="ImageSharpDecoding.CountAllocations"/>.</summary>
        internal static bool CountAllocations
        {
            get => ImageSharpDecoding.CountAllocations;
            set => ImageSharpDecoding.CountAllocations = value;
        }

        public string Format => "PNG/JPEG";
        public IReadOnlyCollection<string> Extensions { get; } = new[] { ".png", ".jpg", ".jpeg" };
        public int HeaderSize => 8;

        public bool Recognise(ReadOnlySpan<byte> head) => IsPng(head) || IsJpeg(head);

        internal static bool IsPng(ReadOnlySpan<byte> h) =>
            h.Length >= 8 && h[0] == 0x89 && h[1] == 'P' && h[2] == 'N' && h[3] == 'G' && h[4] == 0x0D && h[5] == 0x0A && h[6] == 0x1A && h[7] == 0x0A;

        internal static bool IsJpeg(ReadOnlySpan<byte> h) => h.Length >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF;

        public SourceImage Read(string path, ImageReadOptions options)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var head = new byte[8];
            int got = stream.Read(head, 0, head.Length);
            bool png = IsPng(new ReadOnlySpan<byte>(head, 0, got));
            var format = png ? "PNG" : "JPEG";
            Stream pixels;
            IImageDecoder decoder;
            if (png)
            {
                var layout = PngChecker.Check(stream, path, options);
                pixels = new SegmentStream(stream, layout.Critical);
                decoder = new PngDecoder { IgnoreMetadata = true };
            }
            else
            {
                var data = ImageSharpDecoding.ReadWhole(stream, path, format);
                JpegChecker.Check(data, path, options);
                pixels = new MemoryStream(data, writable: false);
                decoder = new JpegDecoder { IgnoreMetadata = true };
            }

            return ImageSharpDecoding.Decode(pixels, decoder, path, format);
        }
    }
}
