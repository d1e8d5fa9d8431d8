
namespace Cxas.Core.Tests.Imaging
{
    /// <summary>TIFF input compared with PIL's decode of the same files (PIL writes them: libtiff for the compressed ones).</summary>
    public class TiffDecodeTests : IDisposable
    {
        private readonly string _dir = TestSupport.NewTempDir();

        public void Dispose() => Directory.Delete(_dir, true);

        // 157x203 RGB is 95 KB a page: libtiff splits it into several strips, so the strip checks see more than one.
        private const string MakeImages = @"
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(11)
h, w = 203, 157
rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
rgb[:40] = 90  # a flat band, so that LZW and Deflate also meet long runs
g16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
for name, c in [('raw', None), ('lzw', 'tiff_lzw'), ('deflate', 'tiff_adobe_deflate'), ('packbits', 'packbits')]:
    kw = {} if c is None else {'compression': c}
    Image.fromarray(rgb).save(f'{d}/rgb-{name}.tif', **kw)
    Image.fromarray(rgb[..., 1]).save(f'{d}/grey8-{name}.tif', **kw)
    Image.fromarray(g16).save(f'{d}/grey16-{name}.tif', **kw)
Image.fromarray(np.dstack([rgb, rgb[..., 0]])).save(d + '/rgba-lzw.tif', compression='tiff_lzw')
Image.fromarray(rgb).save(d + '/same.png')
";

        private const string DumpRaw16 = @"
import sys, numpy as np
from PIL import Image
im = Image.open(sys.argv[1])
a = np.array(im)
assert a.dtype == np.uint16, (im.mode, a.dtype)
sys.stdout.write(' '.join(map(str, a.reshape(-1).tolist())))
";

        private void Make() => TestSupport.Python(MakeImages, _dir);

        [Theory]
        [InlineData("rgb-raw.tif")]
        [InlineData("rgb-lzw.tif")]
        [InlineData("rgb-deflate.tif")]
        [InlineData("rgb-packbits.tif")]
        [InlineData("grey8-raw.tif")]
        [InlineData("grey8-lzw.tif")]
        [InlineData("grey8-deflate.tif")]
        [InlineData("grey8-packbits.tif")]
        [InlineData("rgba-lzw.tif")]
        public void EightBitTiffDecodesExactlyAsPil(string name)
        {
            Make();
            var file = Path.Combine(_dir, name);
            var image = ImageLoader.Load(file);
            Assert.Equal("TIFF", image.Info.Format);
            Assert.Equal((157, 203), (image.Width, image.Height));
            Assert.Equal(DecodeTests.PilRgb(file), DecodeTests.OurRgb(image));
        }

        [Theory]
        [InlineData("grey16-raw.tif")]
        [InlineData("grey16-lzw.tif")]
        [InlineData("grey16-deflate.tif")]
        public void SixteenBitGreyTiffIsScaledLikePng(string name)
        {
            Make();
            var file = Path.Combine(_dir, name);
            var raw = TestSupport.Python(DumpRaw16, file).Split(' ').Select(int.Parse).ToArray();
            DecodeTests.AssertScaledFrom16Bits(raw, DecodeTests.OurRgb(ImageLoader.Load(file)));
        }

        [Theory]
        [InlineData("rgb-raw.tif", 0.6)]
        [InlineData("rgb-lzw.tif", 0.6)]
        [InlineData("grey16-deflate.tif", 0.5)]
        [InlineData("grey8-raw.tif", 0.004)] // inside the header
        public void TruncatedTiffIsInvalidDataNamingTheFile(string name, double keep)
        {
            Make();
            var bytes = File.ReadAllBytes(Path.Combine(_dir, name));
            var file = Path.Combine(_dir, "cut-" + name);
            File.WriteAllBytes(file, bytes.Take(Math.Max(4, (int)(bytes.Length * keep))).ToArray());
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Equal(file, ex.FilePath);
            Assert.Contains("cut-" + name, ex.Message);
            Assert.Contains("truncated", ex.Message);
        }

        [Fact]
        public void CorruptLzwCodesAreInvalidData()
        {
            Make();
            var bytes = File.ReadAllBytes(Path.Combine(_dir, "rgb-lzw.tif"));
            var (offset, count) = FirstStrip(bytes);
            // All ones: 9-bit codes of 511, far beyond the 258 entries a table holds after its first code.
            for (long i = offset; i < offset + count; i++) bytes[i] = 0xFF;
            var file = Path.Combine(_dir, "corrupt.tif");
            File.WriteAllBytes(file, bytes);
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("corrupt.tif", ex.Message);
            Assert.Contains("strip 0 is corrupt", ex.Message);
        }

        [Fact]
        public void HugeDeclaredSizeIsRefusedBeforeDecoding()
        {
            var file = Path.Combine(_dir, "huge.tif");
            File.WriteAllBytes(file, HandMadeTiff(60000, 60000));
            long before = GC.GetAllocatedBytesForCurrentThread();
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 50_000_000);
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.Contains("60000x60000", ex.Message);
            Assert.Contains("huge.tif", ex.Message);
        }

        [Fact]
        public void LimitsArePerRead()
        {
            Make();
            var file = Path.Combine(_dir, "grey8-raw.tif");
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file, new ImageReadOptions { MaxSide = 200 }));
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.Contains("157x203", ex.Message);
            Assert.Equal(157, ImageLoader.Load(file).Width); // the default limits are untouched
        }

        [Fact]
        public void TiffIsRecognisedByContentAndScannedByExtension()
        {
            Make();
            var noExtension = Path.Combine(_dir, "IMG0002");
            File.Copy(Path.Combine(_dir, "rgb-lzw.tif"), noExtension);
            Assert.IsType<TiffReader>(ImageLoader.Identify(noExtension));
            Directory.CreateDirectory(Path.Combine(_dir, "scan"));
            File.Copy(Path.Combine(_dir, "grey8-raw.tif"), Path.Combine(_dir, "scan", "a.tif"));
            File.Copy(Path.Combine(_dir, "grey8-raw.tif"), Path.Combine(_dir, "scan", "b.TIFF"));
            File.WriteAllText(Path.Combine(_dir, "scan", "c.txt"), "not an image");
            Assert.Equal(new[] { "a.tif", "b.TIFF" }, new FolderScanner().Scan(Path.Combine(_dir, "scan")).Select(f => f.RelativePath));
        }

        [Fact]
        public void ConfigurationReadsOnlyItsOwnFormats()
        {
            Make();
            var tiffOnly = new ImageReaderConfiguration(null, new TiffReader());
            Assert.Equal(4, tiffOnly.HeaderSize);
            Assert.Equal("TIFF", tiffOnly.Load(Path.Combine(_dir, "rgb-raw.tif")).Info.Format);
            var ex = Assert.Throws<CxasException>(() => tiffOnly.Load(Path.Combine(_dir, "same.png")));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            // The default configuration holds every built-in format and reads as far as its largest header (DICOM's 132).
            // DICOM first: its preamble may hold a TIFF header (a dual-personality file), DICM at 128 decides.
            Assert.Equal(new[] { "DICOM", "PNG", "JPEG", "TIFF" }, ImageReaderConfiguration.Default.Readers.Select(r => r.Format));
            Assert.Equal(132, ImageReaderConfiguration.Default.HeaderSize);
        }

        [Fact]
        public void TiffSegmentsAsItsPixelsSay()
        {
            Make();
            const int classes = 6, inputSize = 64;
            var file = Path.Combine(_dir, "rgb-deflate.tif");
            var rgb = DecodeTests.PilRgb(file);
            int width = 157, height = 203;
            var segmenter = new Segmenter(CxasModel.Load(TestSupport.WriteClosedFormModel(_dir, classes, inputSize)), DeviceSpec.Cpu);
            var result = segmenter.Segment(file);
            Assert.Equal((width, height), (result.Width, result.Height));
            Assert.Equal("TIFF", result.Source.Format);
            for (int k = 0; k < classes; k++)
            {
                long expectedCount = 0;
                for (int y = 0; y < height; y++)
                {
                    int sy = Segmentation.PipelineTests.TorchNearest(Segmentation.PipelineTests.TorchNearest(y, inputSize, height), height, inputSize);
                    for (int x = 0; x < width; x++)
                    {
                        int sx = Segmentation.PipelineTests.TorchNearest(Segmentation.PipelineTests.TorchNearest(x, inputSize, width), width, inputSize);
                        bool expected = rgb[(sy * width + sx) * 3 + k % 3] > (k * 37) % 255;
                        if (expected) expectedCount++;
                        if (result.Masks[k, x, y] != expected) Assert.Fail($"class {k} pixel ({x},{y}) is {!expected}, expected {expected}");
                    }
                }
                Assert.Equal(expectedCount, result.PixelCounts["class " + k]);
            }
        }

        /// <summary>The first strip of a little-endian TIFF written by PIL, from its IFD.</summary>
        private static (long Offset, long Count) FirstStrip(byte[] b)
        {
            long U(long at, int size) => size == 2 ? BitConverter.ToUInt16(b, (int)at) : BitConverter.ToUInt32(b, (int)at);
            long ifd = U(4, 4);
            long offset = -1, count = -1;
            for (int i = 0; i < U(ifd, 2); i++)
            {
                long e = ifd + 2 + 12 * i;
                int tag = (int)U(e, 2), size = U(e + 2, 2) == 3 ? 2 : 4;
                long n = U(e + 4, 4);
                long value = n * size <= 4 ? U(e + 8, size) : U(U(e + 8, 4), size);
                if (tag == 273) offset = value;
                if (tag == 279) count = value;
            }
            Assert.True(offset > 0 && count > 0);
            return (offset, count);
        }

        /// <summary>A little-endian 8-bit grey TIFF header declaring <paramref name="width"/> x <paramref name="height"/>, with one 16-byte strip.</summary>
        private static byte[] HandMadeTiff(int width, int height)
        {
            var entries = new (int Tag, int Type, int Value)[]
            {
                (256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8 + 2 + 9 * 12 + 4), (277, 3, 1), (278, 4, height), (279, 4, 16),
            };
            using var ms = new MemoryStream();
            using var w = new BinaryWriter(ms);
            w.Write((byte)'I'); w.Write((byte)'I'); w.Write((ushort)42); w.Write(8u);
            w.Write((ushort)entries.Length);
            foreach (var (tag, type, value) in entries)
            {
                w.Write((ushort)tag); w.Write((ushort)type); w.Write(1u);
                if (type == 3) { w.Write((ushort)value); w.Write((ushort)0); } else w.Write((uint)value);
            }
            w.Write(0u);
            w.Write(new byte[16]);
            w.Flush();
            return ms.ToArray();
        }
    }
}
