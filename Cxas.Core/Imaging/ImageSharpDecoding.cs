using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;

namespace Cxas.Imaging
{
    /// <summary>
    /// The last step of every reader that hands pixels to ImageSharp (PNG, JPEG, TIFF): a stream our own checks have
    /// already proved whole (ImageSharp fills what is missing from a damaged file silently), decoded to ImageSharp's
    /// Rgb24 image, then copied to an <see cref="Rgb24Raster"/>. The conversion is the reference's
    /// (<c>PIL.Image.convert("RGB")</c>): alpha dropped, not composited; EXIF orientation ignored; except that 16-bit
    /// samples are scaled to 8 bits (v*255/65535, rounded) where PIL would clip them at 255.
    /// </summary>
    internal static class ImageSharpDecoding
    {
        private static readonly Configuration PooledConfig = CreateConfiguration(false);
        private static readonly Configuration GcConfig = CreateConfiguration(true);

        /// <summary>ImageSharp's configuration for one read: GC buffers when it counts its allocations (<see cref="ImageReadOptions.CountAllocations"/>).</summary>
        private static Configuration ConfigFor(ImageReadOptions options) => options.CountAllocations ? GcConfig : PooledConfig;

        private static Configuration CreateConfiguration(bool gcAllocator)
        {
            var config = new Configuration(new PngConfigurationModule(), new JpegConfigurationModule(), new TiffConfigurationModule());
            config.PreferContiguousImageBuffers = true;
            if (gcAllocator) config.MemoryAllocator = new SimpleGcMemoryAllocator();
            return config;
        }

        /// <summary>The whole file in memory (formats whose checks need random access); at most 2 GiB.</summary>
        public static byte[] ReadWhole(Stream stream, string path, string format)
        {
            if (stream.Length > int.MaxValue)
                throw new CxasException(CxasErrorKind.LimitExceeded, $"'{path}' is a {format} file of {stream.Length:N0} bytes, more than Cxas reads (2 GiB).", path);
            var data = new byte[stream.Length];
            stream.Position = 0;
            int n = 0, r;
            while (n < data.Length && (r = stream.Read(data, n, data.Length - n)) > 0) n += r;
            if (n < data.Length) throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' shrank while it was read.", path);
            return data;
        }

        /// <summary>Decodes <paramref name="pixels"/> (and disposes it); an ImageSharp failure is InvalidData naming the file.</summary>
        public static SourceImage Decode(Stream pixels, IImageDecoder decoder, string path, string format, ImageReadOptions options, IReadOnlyList<string>? warnings = null)
        {
            Image<Rgb24> image;
            using (pixels)
            {
                try
                {
                    image = Image.Load<Rgb24>(ConfigFor(options), pixels, decoder);
                }
                catch (Exception ex) when (!(ex is OutOfMemoryException) && !(ex is CxasException))
                {
                    throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' is a damaged {format} file: {ex.Message}", path, ex);
                }
            }
            using (image)
            {
                var rgb = new byte[checked(image.Width * image.Height * 3)];
                image.CopyPixelDataTo(rgb);
                return new SourceImage(new Rgb24Raster(image.Width, image.Height, rgb), new SourceInfo(path, format) { Warnings = warnings ?? Array.Empty<string>() });
            }
        }
    }
}
