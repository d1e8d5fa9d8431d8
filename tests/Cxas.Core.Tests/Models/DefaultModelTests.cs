namespace Cxas.Core.Tests.Models
{
    /// <summary>
    /// Checks of the shipped trained anatomy model (models/cxas-anatomy-r18): its manifest, its masks on a synthetic
    /// chest the test draws itself (a bright body, two dark elliptical lung fields, a bright spine, a heart blob),
    /// and mask-for-mask agreement with the PyTorch checkpoint it was exported from, which fails with swapped,
    /// shifted or resized labels.
    /// </summary>
    public class DefaultModelTests
    {
        internal const string ModelName = "cxas-anatomy-r18";
        internal static string ModelDir => Path.Combine(TestSupport.RepoRoot, "models", ModelName);

        // Ellipses of the synthetic chest in image fractions: centre x, centre y, half-axis x, half-axis y.
        private static readonly double[] Body = { 0.50, 0.62, 0.52, 0.62 };
        private static readonly double[] RightLungField = { 0.30, 0.45, 0.17, 0.32 };   // image left
        private static readonly double[] LeftLungField = { 0.70, 0.45, 0.17, 0.32 };    // image right
        private static readonly double[] Heart = { 0.56, 0.63, 0.20, 0.15 };

        private static bool In(double u, double v, double[] e)
        {
            double a = (u - e[0]) / e[2], b = (v - e[1]) / e[3];
            return a * a + b * b < 1;
        }

        /// <summary>Grey synthetic chest radiograph, bone and soft tissue bright, lungs dark (MONOCHROME2 look).</summary>
        internal static byte[] SyntheticChest(int w, int h)
        {
            var rgb = new byte[w * h * 3];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double u = (x + 0.5) / w, v = (y + 0.5) / h;
                    double g = 20;                                                        // air around the body
                    if (In(u, v, Body)) g = 160;                                           // body
                    if (In(u, v, RightLungField)) g = 55;                                  // right lung (image left)
                    if (In(u, v, LeftLungField)) g = 55;                                   // left lung (image right)
                    if (Math.Abs(u - 0.5) < 0.07 && v > 0.02 && v < 0.98) g = 185;        // spine and mediastinum
                    if (In(u, v, Heart)) g = 190;                                          // heart
                    g += 6 * Math.Sin(x * 0.21) * Math.Sin(y * 0.17);                     // a little texture
                    byte b = (byte)Math.Clamp((int)Math.Round(g), 0, 255);
                    int o = (y * w + x) * 3;
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = b;
                }
            return rgb;
        }

        [Fact]
        public void ManifestDescribesATrainedNineClassModel()
        {
            var model = CxasModel.Load(ModelDir);
            var m = model.Manifest;
            Assert.False(m.TestOnly);
            Assert.Equal(new[] { "right lung", "left lung", "lung", "heart", "clavicle right", "clavicle left", "clavicles", "trachea", "cardiomediastinum" },
                m.Labels);
            Assert.Equal("nearest", m.Input.Resize);
            Assert.Equal(m.Input.Width, m.Input.Height);
            Assert.Contains("research", m.Licence ?? "", StringComparison.OrdinalIgnoreCase);
            Assert.NotNull(m.Provenance);
            Assert.True(m.Provenance!.ContainsKey("training command"));
            // every class name is one of the reference model's, so outputs line up with it
            foreach (var label in m.Labels) Assert.Contains(label, TestSupport.ReferenceLabels);
            Assert.True(new FileInfo(model.OnnxPath).Length < 60L * 1024 * 1024, "model.onnx must stay under 60 MB");
        }

        /// <summary>
        /// On the drawn cartoon chest the model finds lung inside the dark lung fields and puts nothing outside the
        /// body. Which side is which is not asserted here: the model takes the sides from cues a cartoon lacks (heart
        /// and aortic contours, rib and vessel texture), so on this drawing it labels only part of the lungs. The
        /// sides are checked where they are defined: against PyTorch per class (next test) and on real radiographs
        /// of three sources in the Pester tests.
        /// </summary>
        [Theory]
        [InlineData(512, 512)]
        [InlineData(600, 700)]
        public void FindsLungInsideTheDrawnLungFieldsOfASyntheticChest(int w, int h)
        {
            var model = CxasModel.Load(ModelDir);
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var image = new SourceImage(new Rgb24Raster(w, h, SyntheticChest(w, h)), new SourceInfo("x.png", ""));
            var result = segmenter.Segment(image, TimeSpan.Zero);
            Assert.Equal(w, result.Width);
            Assert.Equal(h, result.Height);

            int lungClass = result.Masks.IndexOf("lung");
            long lung = 0, lungInFields = 0;
            for (int c = 0; c < result.Masks.Count; c++)
            {
                long count = 0, inBody = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        if (!result.Masks[c, x, y]) continue;
                        double u = (x + 0.5) / w, v = (y + 0.5) / h;
                        count++;
                        if (In(u, v, Body)) inBody++;
                        if (c == lungClass && (In(u, v, RightLungField) || In(u, v, LeftLungField))) lungInFields++;
                    }
                if (c == lungClass) lung = count;
                Assert.True(inBody >= 0.9 * count, $"{result.Masks.Labels[c]}: {count - inBody} of {count} px outside the body");
            }
            Assert.True(lung > 0.02 * w * h, $"lung: {lung} px");
            Assert.True(lungInFields >= 0.85 * lung, $"lung: {lung - lungInFields} of {lung} px outside the drawn lung fields");
        }

        /// <summary>
        /// The shipped ONNX model run through the whole Cxas pipeline (PNG decode, RGB, nearest resize, ImageNet
        /// normalisation, ONNX Runtime, threshold, nearest resize back) gives the masks the PyTorch checkpoint it
        /// was exported from gives for the same image (tests/fixtures/default-model, written by
        /// training/make_reference_fixture.py). A pixel whose logit lies within float rounding of the threshold may
        /// flip, so up to 0.05 % of a class's pixels may differ; anything like a shifted, swapped or resized mask
        /// moves thousands.
        /// </summary>
        [Fact]
        public void MasksEqualThePyTorchCheckpointOnTheReferenceImage()
        {
            string dir = Path.Combine(TestSupport.RepoRoot, "tests", "fixtures", "default-model");
            var model = CxasModel.Load(ModelDir);
            using (var meta = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "reference.json"))))
            {
                string expectedSha = meta.RootElement.GetProperty("model_onnx_sha256").GetString()!;
                Assert.True(expectedSha == Cxas.Import.ModelImporter.Sha256(model.OnnxPath),
                    "tests/fixtures/default-model belongs to another model.onnx: rerun training/make_reference_fixture.py");
                Assert.Equal(meta.RootElement.GetProperty("labels").EnumerateArray().Select(e => e.GetString()), model.Manifest.Labels);
            }

            int w, h, classes;
            ushort[] expected;
            using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(dir, "reference-masks.bin.gz")),
                       System.IO.Compression.CompressionMode.Decompress))
            using (var br = new BinaryReader(gz))
            {
                Assert.Equal("CXREF1", System.Text.Encoding.ASCII.GetString(br.ReadBytes(6)));
                w = br.ReadInt32();
                h = br.ReadInt32();
                classes = br.ReadInt32();
                expected = new ushort[w * h];
                for (int i = 0; i < expected.Length; i++) expected[i] = br.ReadUInt16();
            }
            Assert.Equal(model.Manifest.Labels.Count(), classes);

            var image = ImageLoader.Load(Path.Combine(dir, "reference.png"));
            var result = new Segmenter(model, DeviceSpec.Cpu).Segment(image, TimeSpan.Zero);
            Assert.Equal(w, result.Width);
            Assert.Equal(h, result.Height);
            int nonEmpty = 0;
            for (int c = 0; c < classes; c++)
            {
                long differ = 0, present = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        bool want = (expected[y * w + x] >> c & 1) != 0;
                        if (want) present++;
                        if (want != result.Masks[c, x, y]) differ++;
                    }
                if (present > 0) nonEmpty++;
                Assert.True(differ <= (long)w * h / 2000,
                    $"{model.Manifest.Labels[c]}: {differ} of {w * h} pixels differ from PyTorch ({present} expected present)");
            }
            Assert.True(nonEmpty >= 6, $"the reference image should exercise most classes, {nonEmpty} are present");
        }
    }
}
