namespace Cxas.Core.Tests.Imaging
{
    /// <summary>PNG/JPEG decoding compared with PIL's <c>convert("RGB")</c>, the reference's own decoder.</summary>
    public class DecodeTests : TempFolderTests
    {
        private const string MakeImages = @"
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(5)
h, w = 37, 53
rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
Image.fromarray(rgb).save(d + '/rgb.png')
Image.fromarray(rgb[..., 1]).save(d + '/grey8.png')
Image.fromarray(np.dstack([rgb, rng.integers(0, 256, (h, w), dtype=np.uint8)])).save(d + '/rgba.png')
Image.fromarray(np.dstack([rgb[..., 0], rgb[..., 2]]), 'LA').save(d + '/greyalpha.png')
Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE, colors=200).save(d + '/palette.png')
Image.fromarray(rgb[..., 0] > 128).save(d + '/bilevel.png')
Image.fromarray(rgb).save(d + '/photo.jpg', quality=92, subsampling=0)
Image.fromarray(rgb[..., 2]).save(d + '/grey.jpg', quality=92)
g16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
Image.fromarray(g16).save(d + '/grey16.png')
np.save(d + '/grey16.npy', g16)
";

        private const string DumpRgb = @"
import sys, numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1]).convert('RGB'), dtype=np.uint8)
sys.stdout.write(' '.join(map(str, a.reshape(-1).tolist())))
";

        /// <summary>PIL's <c>convert("RGB")</c> of a file, row-major RGB bytes.</summary>
        internal static byte[] PilRgb(string file) => TestSupport.Python(DumpRgb, file).Split(' ').Select(byte.Parse).ToArray();

        /// <summary>Our decode, row-major RGB bytes.</summary>
        internal static byte[] OurRgb(SourceImage image)
        {
            var rgb = new byte[image.Width * image.Height * 3];
            for (int y = 0; y < image.Height; y++) image.Raster.GetRgb24Row(y, rgb.AsSpan(y * image.Width * 3, image.Width * 3));
            return rgb;
        }

        [Theory]
        [InlineData("rgb.png")]
        [InlineData("grey8.png")]
        [InlineData("rgba.png")]
        [InlineData("greyalpha.png")]
        [InlineData("palette.png")]
        [InlineData("bilevel.png")]
        public void PngDecodesExactlyAsPilConvertsToRgb(string name)
        {
            TestSupport.Python(MakeImages, Dir);
            var file = Path.Combine(Dir, name);
            var image = ImageLoader.Load(file);
            Assert.Equal("PNG", image.Info.Format);
            Assert.Equal((53, 37), (image.Width, image.Height));
            Assert.Equal(PilRgb(file), OurRgb(image));
        }

        [Theory]
        [InlineData("photo.jpg")]
        [InlineData("grey.jpg")]
        public void JpegDecodesWithinIdctRoundingOfPil(string name)
        {
            TestSupport.Python(MakeImages, Dir);
            var file = Path.Combine(Dir, name);
            var image = ImageLoader.Load(file);
            Assert.Equal("JPEG", image.Info.Format);
            var ours = OurRgb(image);
            var pil = PilRgb(file);
            Assert.Equal(pil.Length, ours.Length);
            int maxDiff = 0;
            double meanDiff = 0;
            for (int i = 0; i < pil.Length; i++)
            {
                int d = Math.Abs(pil[i] - ours[i]);
                maxDiff = Math.Max(maxDiff, d);
                meanDiff += d;
            }
            meanDiff /= pil.Length;
            // Different IDCT implementations (4:4:4 here: chroma upsampling filters differ too): small, bounded differences.
            Assert.True(maxDiff <= 24 && meanDiff < 2.0, $"max {maxDiff}, mean {meanDiff:F2}");
        }

        [Fact]
        public void SixteenBitGreyIsScaledNotClipped()
        {
            TestSupport.Python(MakeImages, Dir);
            var image = ImageLoader.Load(Path.Combine(Dir, "grey16.png"));
            var raw = TestSupport.Python("import sys, numpy as np; a = np.load(sys.argv[1]); sys.stdout.write(' '.join(map(str, a.reshape(-1).tolist())))",
                Path.Combine(Dir, "grey16.npy")).Split(' ').Select(int.Parse).ToArray();
            AssertScaledFrom16Bits(raw, OurRgb(image));
        }

        /// <summary>Each grey pixel is its 16-bit value scaled to 8 bits (v*255/65535, rounded), the same on all three channels.</summary>
        internal static void AssertScaledFrom16Bits(int[] raw, byte[] ours)
        {
            Assert.Equal(raw.Length * 3, ours.Length);
            for (int i = 0; i < raw.Length; i++)
            {
                double expected = raw[i] * 255.0 / 65535.0;
                Assert.True(Math.Abs(ours[3 * i] - expected) <= 0.5 + 1e-9, $"pixel {i}: {ours[3 * i]} vs {expected:F2}");
                Assert.Equal(ours[3 * i], ours[3 * i + 1]);
                Assert.Equal(ours[3 * i], ours[3 * i + 2]);
            }
        }

        [Fact]
        public void ContentDecidesNotTheExtension()
        {
            TestSupport.Python(MakeImages, Dir);
            var renamed = Path.Combine(Dir, "actually-a-png.jpg");
            File.Copy(Path.Combine(Dir, "rgb.png"), renamed);
            Assert.Equal("PNG", ImageLoader.Load(renamed).Info.Format);
            var noExtension = Path.Combine(Dir, "IMG0001");
            File.Copy(Path.Combine(Dir, "photo.jpg"), noExtension);
            Assert.Equal("JPEG", ImageLoader.Load(noExtension).Info.Format);
        }

        [Fact]
        public void CorruptPngIsInvalidData()
        {
            TestSupport.Python(MakeImages, Dir);
            var bytes = File.ReadAllBytes(Path.Combine(Dir, "rgb.png"));
            for (int i = 60; i < bytes.Length - 40; i += 7) bytes[i] ^= 0x5A; // scramble IDAT, keep IEND
            var file = Path.Combine(Dir, "corrupt.png");
            File.WriteAllBytes(file, bytes);
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Equal(file, ex.FilePath);
            Assert.Contains("corrupt.png", ex.Message);
        }

        [Theory]
        [InlineData("photo.jpg", 0.6)]
        [InlineData("rgb.png", 0.5)]
        public void TruncatedFilesAreInvalidData(string name, double keep)
        {
            TestSupport.Python(MakeImages, Dir);
            var bytes = File.ReadAllBytes(Path.Combine(Dir, name));
            var file = Path.Combine(Dir, "cut-" + name);
            File.WriteAllBytes(file, bytes.Take((int)(bytes.Length * keep)).ToArray());
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("truncated", ex.Message);
        }

        [Fact]
        public void TextFileNamedPngIsInvalidData()
        {
            var file = Path.Combine(Dir, "notes.png");
            File.WriteAllText(file, "This is not an image.\n");
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("notes.png", ex.Message);
        }

        [Fact]
        public void EmptyAndMissingFilesAreClearErrors()
        {
            var empty = Path.Combine(Dir, "empty.png");
            File.WriteAllBytes(empty, Array.Empty<byte>());
            Assert.Equal(CxasErrorKind.InvalidData, Assert.Throws<CxasException>(() => ImageLoader.Load(empty)).Kind);
            Assert.Equal(CxasErrorKind.NotFound, Assert.Throws<CxasException>(() => ImageLoader.Load(Path.Combine(Dir, "nope.png"))).Kind);
        }

        [Fact]
        public void HugeDeclaredSizeIsRefusedBeforeDecoding()
        {
            // A valid PNG header declaring 60000 x 60000, with a tiny IDAT: must be refused from the header alone.
            var file = Path.Combine(Dir, "huge.png");
            HugePng.Write(file, 60000, 60000);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 50_000_000);
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.Contains("60000x60000", ex.Message);
        }
    }

    /// <summary>Writes a PNG whose header declares a huge size (for limit tests in xunit and Pester).</summary>
    internal static class HugePng
    {
        public static void Write(string path, int width, int height)
        {
            using var fs = File.Create(path);
            fs.Write(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
            var ihdr = new byte[13];
            BE(ihdr, 0, (uint)width);
            BE(ihdr, 4, (uint)height);
            ihdr[8] = 8; ihdr[9] = 0;
            Chunk(fs, "IHDR", ihdr);
            Chunk(fs, "IDAT", new byte[] { 0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 });
            Chunk(fs, "IEND", Array.Empty<byte>());
        }

        private static void BE(byte[] b, int o, uint v) { b[o] = (byte)(v >> 24); b[o + 1] = (byte)(v >> 16); b[o + 2] = (byte)(v >> 8); b[o + 3] = (byte)v; }

        private static void Chunk(Stream s, string type, byte[] data)
        {
            var len = new byte[4];
            BE(len, 0, (uint)data.Length);
            s.Write(len);
            var td = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            s.Write(td);
            uint crc = 0xFFFFFFFF;
            foreach (var b in td)
            {
                crc ^= b;
                for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
            var c = new byte[4];
            BE(c, 0, crc ^ 0xFFFFFFFF);
            s.Write(c);
        }
    }
}
