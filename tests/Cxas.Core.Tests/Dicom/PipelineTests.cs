namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// Stored values -> the grey the model sees. Modality and VOI transforms are checked against pydicom's
    /// apply_modality_lut / apply_voi_lut followed by min-max scaling; MONOCHROME1 and Presentation LUT Shape INVERSE must
    /// give the complement of the MONOCHROME2 rendering.
    /// </summary>
    public sealed class PipelineTests : TempFolderTests
    {
        public PipelineTests(ITestOutputHelper output) : base("cxas-pipe", output) { }

        private string Write(string name, SyntheticDicom.Options o, int seed = 9)
        {
            var path = Path.Combine(Dir, name);
            SyntheticDicom.Write(path, SyntheticDicom.Image(o.Rows, o.Columns, o.BitsStored, seed), o);
            return path;
        }

        private static float[] Grey(string path) => ((GrayRaster)ImageLoader.Load(path).Raster).Values;

        /// <summary>pydicom's rendering: modality LUT, VOI (LUT preferred), min-max to [0,1], inverted for MONOCHROME1/INVERSE.</summary>
        private static double[] PydicomGrey(string path)
        {
            const string script =
                "import sys, numpy as np, pydicom\n" +
                "from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut\n" +
                "d = pydicom.dcmread(sys.argv[1])\n" +
                "a = d.pixel_array.astype(np.float64)\n" +
                "if a.ndim == 3 and a.shape[-1] == 3: a = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]\n" +
                "else:\n" +
                "    a = apply_modality_lut(d.pixel_array, d).astype(np.float64)\n" +
                "    a = apply_voi_lut(a, d, index=0).astype(np.float64)\n" +
                "lo, hi = a.min(), a.max()\n" +
                "a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)\n" +
                "if d.get('PhotometricInterpretation') == 'MONOCHROME1' or d.get('PresentationLUTShape') == 'INVERSE': a = 1 - a\n" +
                "np.save(sys.argv[2], np.ascontiguousarray((a * 1e6).round().astype('<i4')))\n";
            var npy = path + ".npy";
            var r = TestSupport.Run(TestSupport.PythonPath, new[] { "-c", script, path, npy });
            if (r.Exit != 0) throw new InvalidOperationException(r.Err);
            return Npy.Read(npy).Ints().Select(v => v / 1e6).ToArray();
        }

        private void AssertMatchesPydicom(string path)
        {
            Oracles.Require("pydicom");
            var ours = Grey(path);
            var oracle = PydicomGrey(path);
            Assert.Equal(oracle.Length, ours.Length);
            double max = 0;
            for (int i = 0; i < ours.Length; i++) max = Math.Max(max, Math.Abs(ours[i] - oracle[i]));
            Out.WriteLine($"{Path.GetFileName(path)}: max |ours - pydicom| = {max:E2}");
            Assert.True(max < 2e-5, $"max difference {max}");
        }

        [OracleFact("pydicom")]
        public void RescaleAndWindowMatchPydicom() =>
            AssertMatchesPydicom(Write("window.dcm", new SyntheticDicom.Options { RescaleSlope = 2, RescaleIntercept = -100, WindowCenter = 3000, WindowWidth = 2400 }));

        [OracleTheory("pydicom")]
        [InlineData("LINEAR_EXACT")]
        [InlineData("SIGMOID")]
        public void VoiLutFunctionsMatchPydicom(string function) =>
            AssertMatchesPydicom(Write(function + ".dcm", new SyntheticDicom.Options { WindowCenter = 1800, WindowWidth = 1500, VoiLutFunction = function }));

        [OracleFact("pydicom")]
        public void VoiLutSequenceMatchesPydicom()
        {
            // a gamma-like curve over stored values 200..3800
            var lut = Enumerable.Range(0, 3601).Select(i => (ushort)Math.Round(65535 * Math.Pow(i / 3600.0, 0.6))).ToArray();
            AssertMatchesPydicom(Write("voilut.dcm", new SyntheticDicom.Options { VoiLut = (200, 16, lut), WindowCenter = 100, WindowWidth = 50 }));
        }

        [OracleFact("pydicom")]
        public void ModalityLutSequenceMatchesPydicom()
        {
            // a log-like modality LUT over stored values 100..4095, then a window on its output
            var lut = Enumerable.Range(0, 3996).Select(i => (ushort)Math.Round(4000 * Math.Log(1 + i / 400.0))).ToArray();
            AssertMatchesPydicom(Write("modlut.dcm", new SyntheticDicom.Options { ModalityLut = (100, 16, lut), WindowCenter = 6000, WindowWidth = 5000 }));
        }

        [OracleFact("pydicom")]
        public void Monochrome1IsTheComplementOfItsMonochrome2Twin()
        {
            var o2 = new SyntheticDicom.Options { WindowCenter = 2000, WindowWidth = 3000 };
            var o1 = new SyntheticDicom.Options { WindowCenter = 2000, WindowWidth = 3000, Photometric = "MONOCHROME1" };
            var g2 = Grey(Write("m2.dcm", o2));
            var g1 = Grey(Write("m1.dcm", o1));
            Assert.Contains(g2, v => v > 0.01f && v < 0.99f);
            for (int i = 0; i < g2.Length; i++) Assert.Equal(1f - g2[i], g1[i], 6);
            AssertMatchesPydicom(Path.Combine(Dir, "m1.dcm"));
        }

        [Fact]
        public void PresentationLutShapeInverseInvertsOnceEvenForMonochrome1()
        {
            var plain = Grey(Write("p.dcm", new SyntheticDicom.Options { SopClass = SyntheticDicom.DxStorage, Modality = "DX" }));
            var inverse = Grey(Write("pi.dcm", new SyntheticDicom.Options { SopClass = SyntheticDicom.DxStorage, Modality = "DX", PresentationLutShape = "INVERSE" }));
            var mono1Inverse = Grey(Write("m1i.dcm", new SyntheticDicom.Options
                { SopClass = SyntheticDicom.DxStorage, Modality = "DX", Photometric = "MONOCHROME1", PresentationLutShape = "INVERSE" }));
            for (int i = 0; i < plain.Length; i++)
            {
                Assert.Equal(1f - plain[i], inverse[i], 6);
                Assert.Equal(inverse[i], mono1Inverse[i], 6);
            }
        }

        [Fact]
        public void SignedPixelsAreSignExtended()
        {
            // 12 stored bits, signed: write two's complement values in the low 12 bits of 16-bit words
            const int rows = 20, cols = 30;
            var values = Enumerable.Range(0, rows * cols).Select(i => (i * 13 % 4096) - 2048).ToArray();
            var raw = values.Select(v => (ushort)(v & 0xFFF)).ToArray();
            var path = Path.Combine(Dir, "signed.dcm");
            SyntheticDicom.Write(path, raw, new SyntheticDicom.Options { Rows = rows, Columns = cols, Signed = true });
            // The truth is the two's complement values written above (pydicom 2.3 leaves the sign bits of a 12-in-16 word
            // unextended, so it is no oracle here). Rendering: the smallest value is black, the largest white.
            Assert.Equal(values, SyntheticDicom.DecodeStored(path).Values);
            var grey = Grey(path);
            int lo = Array.IndexOf(values, values.Min()), hi = Array.IndexOf(values, values.Max());
            Assert.Equal(0f, grey[lo]);
            Assert.Equal(1f, grey[hi]);
        }

        [Fact]
        public void SpacingAndIdentityFillSourceInfo()
        {
            var a = ImageLoader.Load(Write("a.dcm", new SyntheticDicom.Options { ImagerPixelSpacing = "0.15\\0.16" })).Info;
            Assert.Equal(("ImagerPixelSpacing", 0.15, 0.16), (a.SpacingSource, a.RowSpacingMm!.Value, a.ColumnSpacingMm!.Value));
            var o = new SyntheticDicom.Options { ImagerPixelSpacing = "0.15\\0.16", PixelSpacing = "0.14\\0.13" };
            var b = ImageLoader.Load(Write("b.dcm", o)).Info;
            Assert.Equal(("PixelSpacing", 0.14, 0.13), (b.SpacingSource, b.RowSpacingMm!.Value, b.ColumnSpacingMm!.Value));
            Assert.Equal((o.Study, o.Series, o.Instance, "CXAS-SYN-1", "CR", "PA"), (b.StudyInstanceUid, b.SeriesInstanceUid, b.SopInstanceUid, b.PatientId, b.Modality, b.ViewPosition));
            var none = ImageLoader.Load(Write("c.dcm", new SyntheticDicom.Options())).Info;
            Assert.Null(none.SpacingSource);
            Assert.Null(none.RowSpacingMm);
            Assert.Empty(none.Warnings);
        }

        [OracleFact("pydicom", "img2dcm")]
        public void RgbSecondaryCaptureBecomesLumaGrey()
        {
            Oracles.Require("img2dcm", "pydicom");
            var img2dcm = TestSupport.Tool("img2dcm")!;
            var bmp = Path.Combine(Dir, "rgb.bmp");
            using (var image = new Image<Rgb24>(40, 30))
            {
                for (int y = 0; y < 30; y++)
                    for (int x = 0; x < 40; x++)
                        image[x, y] = new Rgb24((byte)(x * 6), (byte)(y * 8), (byte)((x + y) * 3));
                image.SaveAsBmp(bmp);
            }
            var dcm = Path.Combine(Dir, "rgb.dcm");
            var r = TestSupport.Run(img2dcm, new[] { "-i", "BMP", bmp, dcm });
            Assert.True(r.Exit == 0, r.Err);
            AssertMatchesPydicom(dcm);
        }

        [OracleFact("img2dcm", "dcmcjpeg", "dcmdjpeg")]
        public void ColourJpegWithSubsampledChromaGivesTheGreyOfItsIndependentDecode()
        {
            Oracles.Require("img2dcm", "dcmcjpeg", "dcmdjpeg");
            var img2dcm = TestSupport.Tool("img2dcm")!;
            var dcmcjpeg = TestSupport.Tool("dcmcjpeg")!;
            var dcmdjpeg = TestSupport.Tool("dcmdjpeg")!;
            var bmp = Path.Combine(Dir, "colour.bmp");
            using (var image = new Image<Rgb24>(45, 33))
            {
                for (int y = 0; y < 33; y++)
                    for (int x = 0; x < 45; x++)
                        image[x, y] = new Rgb24((byte)(x * 5), (byte)(200 - y * 5), (byte)((x * y) % 256));
                image.SaveAsBmp(bmp);
            }
            string rgb = Path.Combine(Dir, "colour.dcm"), jpeg = Path.Combine(Dir, "colour-jpeg.dcm"), back = Path.Combine(Dir, "colour-back.dcm");
            Assert.Equal(0, TestSupport.Run(img2dcm, new[] { "-i", "BMP", bmp, rgb }).Exit);
            Assert.Equal(0, TestSupport.Run(dcmcjpeg, new[] { "+eb", rgb, jpeg }).Exit); // YBR_FULL_422, chroma subsampled 2x1
            Assert.Equal(0, TestSupport.Run(dcmdjpeg, new[] { jpeg, back }).Exit);
            var ours = Grey(jpeg);
            var theirs = Grey(back);
            double max = ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
            Out.WriteLine($"max |Y - luma(dcmdjpeg RGB)| = {max:F4}");
            Assert.True(max < 0.02, $"grey differs by {max}");
        }

        [Fact]
        public void FileWithoutPreambleIsRecognisedByContent()
        {
            var path = Write("nopre.bin", new SyntheticDicom.Options { Preamble = false });
            Assert.IsType<Cxas.Dicom.DicomImageReader>(ImageLoader.Identify(path));
            var withPreamble = Write("pre.dcm", new SyntheticDicom.Options());
            Assert.Equal(Grey(withPreamble), Grey(path));
            Assert.Contains(".dcm", ImageLoader.KnownExtensions);
            Assert.Contains(".dicom", ImageLoader.KnownExtensions);
        }
    }
}
