using System.Threading.Tasks;
using System.Diagnostics;
using System.Text;
using Cxas.Testing;
using SixLabors.ImageSharp.Formats.Png;

namespace Cxas.Core.Tests.Imaging
{
    /// <summary>
    /// Damaged PNG and JPEG files are <c>Cxas.InvalidData</c> (or LimitExceeded for bombs), never a guessed image:
    /// PNGs cut and closed again with IEND, IDAT corrupted under a recomputed CRC, a JPEG whose SOF claims more than its
    /// data hold, JPEGs (baseline and progressive) cut mid-scan with EOI appended, zTXt/iTXt bombs; PIL is the
    /// independent oracle that the PNG fixtures are damaged. Valid files (interlaced, 16-bit, progressive) still decode.
    /// </summary>
    public sealed class DamagedInputTests : TempFolderTests
    {
        public DamagedInputTests(ITestOutputHelper output) : base(output: output) { }

        private const string MakeImages = @"
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
y, x = np.mgrid[0:512, 0:512]
rng = np.random.default_rng(7)
chest = 40 + 150 * np.exp(-((x - 256) ** 2 / 9000.0 + (y - 280) ** 2 / 30000.0)) + rng.normal(0, 6, (512, 512))
a = np.clip(chest, 0, 255).astype(np.uint8)
Image.fromarray(a).save(d + '/xray.png')
Image.fromarray(a).save(d + '/xray.jpg', quality=90)
Image.fromarray(a).save(d + '/xray-p.jpg', quality=90, progressive=True)
Image.fromarray(np.dstack([a, a[::-1], a[:, ::-1]])).save(d + '/rgb-p.jpg', quality=85, progressive=True, subsampling=2)
Image.fromarray(a[:37, :53]).save(d + '/odd-p.jpg', quality=85, progressive=True)
";

        private string Fixture(string name)
        {
            if (!File.Exists(Path.Combine(Dir, "xray.png"))) TestSupport.Python(MakeImages, Dir);
            return Path.Combine(Dir, name);
        }

        private static byte[] Iend => new byte[] { 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82 };

        private string Write(string name, byte[] data)
        {
            var path = Path.Combine(Dir, name);
            File.WriteAllBytes(path, data);
            return path;
        }

        private static CxasException AssertInvalid(string file, CxasErrorKind kind = CxasErrorKind.InvalidData)
        {
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.True(ex.Kind == kind, $"{Path.GetFileName(file)}: {ex.Kind}: {ex.Message}");
            Assert.Equal(file, ex.FilePath);
            Assert.Contains(Path.GetFileName(file), ex.Message);
            return ex;
        }

        private static int[] IdatOffsets(byte[] png)
        {
            var list = new List<int>();
            for (int p = 8; p + 12 <= png.Length;)
            {
                int len = (png[p] << 24) | (png[p + 1] << 16) | (png[p + 2] << 8) | png[p + 3];
                if (Encoding.ASCII.GetString(png, p + 4, 4) == "IDAT") list.Add(p);
                p += 12 + len;
            }
            return list.ToArray();
        }

        [Fact]
        public async Task PngCutAnywhereAndClosedWithIendIsInvalidData()
        {
            var png = File.ReadAllBytes(Fixture("xray.png"));
            int iend = png.Length - 12;
            var files = new List<string>();
            for (int i = 0; i < 32; i++)
            {
                // From inside IHDR's CRC to near the zlib stream's end (a cut in its last bytes may lose only its checksum).
                int cut = 30 + (int)((long)(iend - 64 - 30) * i / 31);
                files.Add(Write($"cut{i:D2}.png", png.Take(cut).Concat(Iend).ToArray()));
            }
            var pil = await ImageMutationHarness.PilDecodes(files);
            Assert.All(pil, v => Assert.StartsWith("bad", v)); // the oracle agrees they are damaged
            foreach (var f in files) Out.WriteLine($"{Path.GetFileName(f)}: {AssertInvalid(f).Message}");
        }

        [Fact]
        public async Task PngIdatCorruptedUnderARecomputedCrcIsInvalidData()
        {
            var png = File.ReadAllBytes(Fixture("xray.png"));
            int idat = IdatOffsets(png)[0];
            int length = (png[idat] << 24) | (png[idat + 1] << 16) | (png[idat + 2] << 8) | png[idat + 3];
            var files = new List<string>();
            for (int i = 0; i < 19; i++)
            {
                var d = (byte[])png.Clone();
                // Inside the zlib stream, away from its last bytes (the final block's padding bits decode to nothing).
                int at = idat + 8 + 2 + (int)((long)(length - 12) * i / 19);
                d[at] ^= (byte)(0x11 << (i % 4));
                uint crc = ImageMutationHarness.Crc(d, idat + 4, 4 + length);
                for (int k = 0; k < 4; k++) d[idat + 8 + length + k] = (byte)(crc >> (24 - 8 * k));
                files.Add(Write($"idat{i:D2}.png", d));
            }
            var pil = await ImageMutationHarness.PilDecodes(files);
            Assert.All(pil, v => Assert.StartsWith("bad", v)); // zlib's own checks (PIL) find every one
            foreach (var f in files) Out.WriteLine($"{Path.GetFileName(f)}: {AssertInvalid(f).Message}");
        }

        [Fact]
        public void JpegSofClaimingMoreThanItsDataIsInvalidData()
        {
            var jpeg = File.ReadAllBytes(Fixture("xray.jpg"));
            int sof = Enumerable.Range(2, jpeg.Length - 3).First(i => jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0);
            jpeg[sof + 5] = 12000 >> 8; jpeg[sof + 6] = 12000 & 0xFF; // height
            jpeg[sof + 7] = 12000 >> 8; jpeg[sof + 8] = 12000 & 0xFF; // width
            var file = Write("big-sof.jpg", jpeg);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var ex = AssertInvalid(file);
            Assert.Contains("run out", ex.Message);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "the damage must be found before a 12000x12000 image is allocated");
        }

        [Theory]
        [InlineData("xray.jpg")]
        [InlineData("xray-p.jpg")]
        [InlineData("rgb-p.jpg")]
        public void JpegCutMidScanWithEoiAppendedIsInvalidData(string name)
        {
            var jpeg = File.ReadAllBytes(Fixture(name));
            // Cut inside each scan's entropy-coded data (start, middle, near the end), EOI appended.
            var scans = Enumerable.Range(2, jpeg.Length - 3).Where(i => jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA).ToList();
            int count = 0;
            for (int s = 0; s < scans.Count; s++)
            {
                int start = scans[s] + 2 + ((jpeg[scans[s] + 2] << 8) | jpeg[scans[s] + 3]);
                int end = s + 1 < scans.Count ? Enumerable.Range(start, scans[s + 1] - start + 1).First(i => jpeg[i] == 0xFF && jpeg[i + 1] != 0) : jpeg.Length - 2;
                if (end - start < 40) continue; // too small a scan to cut inside reliably
                foreach (double f in new[] { 0.05, 0.5, 0.9 })
                {
                    int cut = start + (int)((end - start) * f);
                    var file = Write($"cut-{s}-{f}-{name}", jpeg.Take(cut).Concat(new byte[] { 0xFF, 0xD9 }).ToArray());
                    Out.WriteLine($"{Path.GetFileName(file)}: {AssertInvalid(file).Message}");
                    count++;
                }
            }
            Assert.True(count >= 3, $"{count} cuts");
        }

        /// <summary>
        /// A 32x16 grey JPEG of one level (144) with a restart interval of 2 blocks, written by hand (PIL cannot write
        /// restart markers): DC of 8 x 16 = 128 (category 8, code 111110 of the standard luminance table) then EOB;
        /// the second block of each interval repeats it (category 0, code 00). Four intervals, RST0-RST2 between them.
        /// </summary>
        internal static byte[] RestartJpeg(bool withMarkers = true, int intervals = 4, int scans = 1)
        {
            var o = new List<byte> { 0xFF, 0xD8 };
            void Segment(byte marker, params byte[] body)
            {
                o.AddRange(new byte[] { 0xFF, marker, (byte)((body.Length + 2) >> 8), (byte)(body.Length + 2) });
                o.AddRange(body);
            }
            Segment(0xDB, new byte[] { 0 }.Concat(Enumerable.Repeat((byte)1, 64)).ToArray());
            Segment(0xC0, 8, 0, 16, 0, 32, 1, 1, 0x11, 0);
            Segment(0xC4, new byte[] { 0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0 }.Concat(Enumerable.Range(0, 12).Select(i => (byte)i)).ToArray());
            Segment(0xC4, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00);
            Segment(0xDD, 0, 2);
            for (int scan = 0; scan < scans; scan++)
            {
                Segment(0xDA, 1, 1, 0x00, 0, 63, 0);
                for (int i = 0; i < intervals; i++)
                {
                    if (i > 0 && withMarkers) o.AddRange(new byte[] { 0xFF, (byte)(0xD0 + (i - 1) % 8) });
                    o.AddRange(new byte[] { 0xFA, 0x00, 0x3F }); // 111110 10000000 0 | 00 0 | 111111 padding
                }
            }
            o.AddRange(new byte[] { 0xFF, 0xD9 });
            return o.ToArray();
        }

        [Fact]
        public async Task JpegRestartIntervalsAreWalkedAndMissingDataFound()
        {
            var valid = Write("restart.jpg", RestartJpeg());
            Assert.Equal("ok", (await ImageMutationHarness.PilDecodes(new[] { valid }))[0]);
            Assert.All(OurRgb(ImageLoader.Load(valid)), v => Assert.Equal(144, v));
            var noMarkers = Write("restart-lost.jpg", RestartJpeg(withMarkers: false));
            Assert.Contains("restart marker", AssertInvalid(noMarkers).Message);
            var short1 = Write("restart-short.jpg", RestartJpeg(intervals: 3));
            Assert.Contains("after MCU 6 of 8", AssertInvalid(short1).Message); // the data end where the next interval should start
        }

        [Fact]
        public void JpegOfThousandsOfScansIsRefused()
        {
            Assert.Equal(144, OurRgb(ImageLoader.Load(Write("scans-3.jpg", RestartJpeg(scans: 3))))[0]);
            Assert.Contains("more than 200 scans", AssertInvalid(Write("scans-5000.jpg", RestartJpeg(scans: 5000)), CxasErrorKind.LimitExceeded).Message);
        }

        [Theory]
        [InlineData("zTXt")]
        [InlineData("iTXt")]
        [InlineData("iCCP")]
        public async Task CompressedAncillaryChunkBombIsRefusedWithoutInflatingIt(string type)
        {
            var bomb = ImageMutationHarness.WithCompressedChunk(File.ReadAllBytes(Fixture("xray.png")), type, Bombs.Value);
            var file = Write($"bomb-{type}.png", bomb);
            Out.WriteLine($"{bomb.Length:N0} bytes on disk for 512 MiB inflated; PIL: {(await ImageMutationHarness.PilDecodes(new[] { file }))[0]}");
            long before = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            var ex = AssertInvalid(file, CxasErrorKind.LimitExceeded);
            Out.WriteLine(ex.Message);
            Assert.True(watch.Elapsed.TotalSeconds < 5, $"{watch.Elapsed.TotalSeconds:F1} s");
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16L << 20);
        }

        private static readonly Lazy<byte[]> Bombs = new Lazy<byte[]>(() => ImageMutationHarness.ZeroBomb(512));

        [Fact]
        public void SmallCompressedTextIsRead()
        {
            using var zlib = new MemoryStream();
            using (var z = new System.IO.Compression.ZLibStream(zlib, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
                z.Write(Encoding.ASCII.GetBytes("a chest radiograph, PA view"));
            foreach (var type in new[] { "zTXt", "iTXt", "iCCP" })
            {
                var png = ImageMutationHarness.WithCompressedChunk(File.ReadAllBytes(Fixture("xray.png")), type, zlib.ToArray());
                Assert.Equal(512, ImageLoader.Load(Write(type + ".png", png)).Width);
            }
        }

        // ---------------------------------------------------------------- valid files still decode exactly

        private const string DumpRgb = @"
import sys, numpy as np
from PIL import Image
a = np.array(Image.open(sys.argv[1]).convert('RGB'), dtype=np.uint8)
sys.stdout.write(' '.join(map(str, a.reshape(-1).tolist())))
";

        private static byte[] OurRgb(SourceImage image)
        {
            var rgb = new byte[image.Width * image.Height * 3];
            for (int y = 0; y < image.Height; y++) image.Raster.GetRgb24Row(y, rgb.AsSpan(y * image.Width * 3, image.Width * 3));
            return rgb;
        }

        [Theory]
        // Sizes from 5x5 up: ImageSharp's encoder writes filter bytes for the empty passes of smaller images.
        [InlineData(5, 5, false)]
        [InlineData(37, 53, false)]
        [InlineData(9, 9, true)]
        [InlineData(53, 37, true)]
        public void InterlacedPngDecodesAsPil(int width, int height, bool rgb)
        {
            var file = Path.Combine(Dir, $"adam7-{width}x{height}.png");
            var rng = new Random(width * 31 + height);
            if (rgb)
            {
                using var image = new SixLabors.ImageSharp.Image<Rgb24>(width, height);
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++) image[x, y] = new Rgb24((byte)rng.Next(256), (byte)(x * 5), (byte)(y * 7));
                image.Save(file, new PngEncoder { InterlaceMethod = PngInterlaceMode.Adam7, ColorType = PngColorType.Rgb });
            }
            else
            {
                using var image = new SixLabors.ImageSharp.Image<L16>(width, height);
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++) image[x, y] = new L16((ushort)rng.Next(65536));
                image.Save(file, new PngEncoder { InterlaceMethod = PngInterlaceMode.Adam7, ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit16 });
            }
            Assert.Equal(1, File.ReadAllBytes(file)[28]); // the IHDR says Adam7
            var ours = OurRgb(ImageLoader.Load(file));
            if (rgb) Assert.Equal(TestSupport.Python(DumpRgb, file).Split(' ').Select(byte.Parse).ToArray(), ours);
            else Assert.Equal(width * height * 3, ours.Length);
        }

        [Theory]
        [InlineData("xray-p.jpg")]
        [InlineData("rgb-p.jpg")]
        [InlineData("odd-p.jpg")]
        public void ProgressiveJpegDecodesWithinIdctRoundingOfPil(string name)
        {
            var file = Fixture(name);
            var ours = OurRgb(ImageLoader.Load(file));
            var pil = TestSupport.Python(DumpRgb, file).Split(' ').Select(byte.Parse).ToArray();
            Assert.Equal(pil.Length, ours.Length);
            double mean = pil.Zip(ours, (a, b) => Math.Abs(a - b)).Average();
            Assert.True(mean < 2.0, $"mean difference {mean:F2}");
        }

        [Fact]
        public void RealRadiographsDecodeUnchanged()
        {
            // The two NIH radiographs the repository ships (samples/), so this runs without ../shared.
            var files = Directory.GetFiles(Path.Combine(TestSupport.RepoRoot, "samples"), "*.png");
            Assert.Equal(2, files.Length);
            foreach (var file in files)
            {
                var ours = OurRgb(ImageLoader.Load(file));
                Assert.Equal(TestSupport.Python(DumpRgb, file).Split(' ').Select(byte.Parse).ToArray(), ours);
            }
        }
    }
}
