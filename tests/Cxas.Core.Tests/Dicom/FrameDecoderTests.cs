using System.Text;
using Cxas.Dicom;
using Cxas.Dicom.Codecs;
using Cxas.Runs;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// Frame decoders registered by transfer syntax: dispatch, the errors for syntaxes without a usable decoder, and
    /// registration on a configuration of one's own (the default's decoders are read-only).
    /// </summary>
    public class FrameDecoderTests : IDisposable
    {
        private const string JpegLs = "1.2.840.10008.1.2.4.80";
        private readonly string _dir = TestSupport.NewTempDir("cxas-framedec");

        public void Dispose() => Directory.Delete(_dir, true);

        /// <summary>A synthetic radiograph compressed to JPEG-LS by dcmtk, its transfer syntax UID then replaced by <paramref name="uid"/> (same length).</summary>
        private string JpegLsFileDeclaring(string uid, string name)
        {
            Assert.Equal(JpegLs.Length, uid.Length);
            var src = Path.Combine(_dir, "src.dcm");
            SyntheticDicom.Write(src, SyntheticDicom.Image(40, 56, 12, 9), new SyntheticDicom.Options { Rows = 40, Columns = 56 });
            var dst = Path.Combine(_dir, "ls.dcm");
            var r = TestSupport.Run(TestSupport.Tool("dcmcjpls")!, new[] { src, dst });
            Assert.True(r.Exit == 0, r.Err);
            if (uid == JpegLs) return dst;
            var bytes = File.ReadAllBytes(dst);
            var from = Encoding.ASCII.GetBytes(JpegLs);
            int at = Enumerable.Range(0, bytes.Length - from.Length).First(i => bytes.AsSpan(i, from.Length).SequenceEqual(from));
            Encoding.ASCII.GetBytes(uid).CopyTo(bytes, at);
            var path = Path.Combine(_dir, name);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        [OracleFact("dcmcjpls")]
        public void UnknownSyntaxIsNotSupportedNamingItsUidAndName()
        {
            var file = JpegLsFileDeclaring("1.2.840.10008.1.2.4.92", "part2.dcm");
            var ex = Assert.Throws<CxasException>(() => ImageLoader.Load(file));
            Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
            Assert.Contains("part2.dcm", ex.Message);
            Assert.Contains("1.2.840.10008.1.2.4.92 (JPEG 2000 Part 2 Multi-component Lossless)", ex.Message);
        }

        [OracleFact("dcmcjpls")]
        public void DecoderWhoseLibraryIsAbsentNamesSyntaxAndLibrary()
        {
            // A private syntax of this test, decoded by CharLS as if its library were missing.
            const string absent = "1.2.826.0.1.3680043.10";
            var configuration = CxasConfiguration.Default.Clone();
            configuration.Decoders.Register(new NativeFrameDecoder(CharLs.Decode, () => false, CharLs.InstallHint, new TransferSyntax(absent, "test JPEG-LS, library absent")));

            var ex = Assert.Throws<CxasException>(() => configuration.Readers.Load(JpegLsFileDeclaring(absent, "absent.dcm")));
            Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
            Assert.Contains($"{absent} (test JPEG-LS, library absent)", ex.Message);
            Assert.Contains("libcharls2", ex.Message);
            Assert.Contains("absent.dcm", ex.Message);
        }

        /// <summary>
        /// A private syntax of this test, given CharLS's decoder on one configuration: a file declaring it decodes there
        /// as its JPEG-LS twin does, and stays NotSupported for the default configuration and for another copy of it.
        /// </summary>
        [OracleFact("dcmcjpls", "libcharls")]
        public void ADecoderRegisteredOnAConfigurationServesThatConfigurationOnly()
        {
            const string present = "1.2.826.0.1.3680043.11";
            var decoder = new NativeFrameDecoder(CharLs.Decode, () => true, CharLs.InstallHint, new TransferSyntax(present, "test JPEG-LS, library present"));
            Assert.Throws<InvalidOperationException>(() => FrameDecoders.Default.Register(decoder));
            var mine = CxasConfiguration.Default.Clone();
            var other = CxasConfiguration.Default.Clone();
            mine.Decoders.Register(decoder);

            var twin = JpegLsFileDeclaring(JpegLs, "ls.dcm");
            var reference = SyntheticDicom.DecodeStored(twin).Values;
            Assert.Equal(SyntheticDicom.Image(40, 56, 12, 9).Select(v => (int)v), reference);
            var file = JpegLsFileDeclaring(present, "present.dcm");
            var parsed = DicomParser.ReadFile(file);
            Assert.Equal(reference, DicomPixels.DecodeFirstFrame(parsed, DicomPixels.Describe(parsed), null, mine.Decoders).Values);
            // Through the configuration's readers: the same grey image as the twin's.
            Assert.Equal(Grey(ImageLoader.Load(twin)), Grey(mine.Readers.Load(file)));

            foreach (var readers in new[] { ImageReaderConfiguration.Default, other.Readers })
            {
                var ex = Assert.Throws<CxasException>(() => readers.Load(file));
                Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
                Assert.Contains(present, ex.Message);
            }
        }

        private static byte[] Grey(SourceImage image)
        {
            var grey = new byte[image.Width * image.Height * 3];
            for (int y = 0; y < image.Height; y++) image.Raster.GetRgb24Row(y, grey.AsSpan(y * image.Width * 3, image.Width * 3));
            return grey;
        }

        [Fact]
        public void EverySyntaxCxasDecodesIsRegisteredWithItsName()
        {
            var supported = FrameDecoders.Default.Supported.Where(s => s.Uid.StartsWith("1.2.840.10008.", StringComparison.Ordinal)).ToDictionary(s => s.Uid, s => s.Name);
            Assert.Equal(new[]
            {
                "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80",
                "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.5",
            }, supported.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal("RLE Lossless", supported["1.2.840.10008.1.2.5"]);
            Assert.Equal("JPEG 2000 Image Compression (Lossless Only)", supported["1.2.840.10008.1.2.4.90"]);
        }
    }
}
