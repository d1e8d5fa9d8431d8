using System;
using System.Collections.Generic;
using System.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Cxas.Imaging
{
    /// <summary>
    /// PNG (1-16 bit grey, RGB, palette, with or without alpha) and JPEG through ImageSharp, converted to 8-bit RGB
    /// as the reference does (<c>PIL.Image.convert("RGB")</c>: alpha dropped, not composited; EXIF orientation ignored).
    /// 16-bit samples are scaled to 8 bits (v*255/65535, rounded); PIL would clip them at 255 instead.
    /// The header is read first and checked against <see cref="ImageLimits"/> before any pixels are decoded.
    /// </summary>
    public sealed class PngJpegReader : IImageReader
    {
        private static readonly Configuration Config = CreateConfiguration();

        public string Format => "PNG/JPEG";
        public IReadOnlyCollection<string> Extensions { get; } = new[] { ".png", ".jpg", ".jpeg" };

        private static Configuration CreateConfiguration()
        {
            var config = new Configuration(new PngConfigurationModule(), new JpegConfigurationModule());
            config.PreferContiguousImageBuffers = true;
            return config;
        }

        public bool Recognise(ReadOnlySpan<byte> head) => IsPng(head) || IsJpeg(head);

        internal static bool IsPng(ReadOnlySpan<byte> h) =>
            h.Length >= 8 && h[0] == 0x89 && h[1] == 'P' && h[2] == 'N' && h[3] == 'G' && h[4] == 0x0D && h[5] == 0x0A && h[6] == 0x1A && h[7] == 0x0A;

        internal static bool IsJpeg(ReadOnlySpan<byte> h) => h.Length >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF;

        /// <summary>
        /// ImageSharp fills in missing data of cut-off files silently; a file must end with its end marker
        /// (PNG IEND chunk; JPEG EOI, allowing some trailing bytes) to be accepted.
        /// </summary>
        private static void CheckComplete(string path, Stream stream, string format)
        {
            int tailLength = (int)Math.Min(stream.Length, 4096);
            var tail = new byte[tailLength];
            stream.Position = stream.Length - tailLength;
            int n = 0, r;
            while (n < tailLength && (r = stream.Read(tail, n, tailLength - n)) > 0) n += r;
            bool ok = false;
            if (format == "PNG")
            {
                for (int i = Math.Max(0, n - 64); i + 4 <= n && !ok; i++)
                    ok = tail[i] == 'I' && tail[i + 1] == 'E' && tail[i + 2] == 'N' && tail[i + 3] == 'D';
            }
            else
            {
                for (int i = n - 2; i >= 0 && !ok; i--)
                    ok = tail[i] == 0xFF && tail[i + 1] == 0xD9;
            }
            if (!ok)
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"'{path}' is a truncated {format} file (no {(format == "PNG" ? "IEND chunk" : "end-of-image marker")} at its end).", path);
        }

        public SourceImage Read(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var head = new byte[8];
            int got = stream.Read(head, 0, head.Length);
            var format = IsPng(new ReadOnlySpan<byte>(head, 0, got)) ? "PNG" : "JPEG";
            CheckComplete(path, stream, format);
            stream.Position = 0;

            IImageInfo? info;
            try
            {
                info = Image.Identify(Config, stream);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has an invalid {format} header: {ex.Message}", path, ex);
            }
            if (info == null)
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has an unreadable {format} header.", path);
            ImageLimits.Check(path, info.Width, info.Height);
            stream.Position = 0;

            Image<Rgb24> image;
            try
            {
                image = Image.Load<Rgb24>(Config, stream);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' is a damaged {format} file: {ex.Message}", path, ex);
            }
            using (image)
            {
                var rgb = new byte[checked(image.Width * image.Height * 3)];
                image.CopyPixelDataTo(rgb);
                return new SourceImage(new Rgb24Raster(image.Width, image.Height, rgb), new SourceInfo { Path = path, Format = format });
            }
        }
    }
}
