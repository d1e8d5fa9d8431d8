using System;
using System.IO;
using System.Linq;
using Cxas.Imaging;
using Cxas.Models;
using Cxas.Segmentation;
using Xunit;

namespace Cxas.Tests
{
    /// <summary>
    /// Sanity checks of the shipped trained anatomy model (models/cxas-anatomy-r18) on a synthetic chest that the
    /// test draws itself: a bright body, two dark elliptical lung fields, a bright spine and a heart blob below and
    /// left (patient's left) of the midline. Laterality is the patient's: the right lung is on the image's left.
    /// A model with swapped or shifted labels, or one that does not segment lungs at all, fails.
    /// </summary>
    public class DefaultModelTests
    {
        internal const string ModelName = "cxas-anatomy-r18";
        internal static string ModelDir => Path.Combine(TestSupport.RepoRoot, "models", ModelName);

        /// <summary>Grey synthetic chest radiograph, bone and soft tissue bright, lungs dark (MONOCHROME2 look).</summary>
        internal static byte[] SyntheticChest(int w, int h)
        {
            var rgb = new byte[w * h * 3];
            static bool In(double u, double v, double cx, double cy, double ax, double ay)
            {
                double a = (u - cx) / ax, b = (v - cy) / ay;
                return a * a + b * b < 1;
            }
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double u = (x + 0.5) / w, v = (y + 0.5) / h;
                    double g = 20;                                                        // air around the body
                    if (In(u, v, 0.50, 0.62, 0.52, 0.62)) g = 160;                        // body
                    if (In(u, v, 0.30, 0.45, 0.17, 0.32)) g = 55;                         // right lung (image left)
                    if (In(u, v, 0.70, 0.45, 0.17, 0.32)) g = 55;                         // left lung (image right)
                    if (Math.Abs(u - 0.5) < 0.07 && v > 0.02 && v < 0.98) g = 185;        // spine and mediastinum
                    if (In(u, v, 0.56, 0.63, 0.20, 0.15)) g = 190;                        // heart
                    g += 6 * Math.Sin(x * 0.21) * Math.Sin(y * 0.17);                     // a little texture
                    byte b = (byte)Math.Clamp((int)Math.Round(g), 0, 255);
                    int o = (y * w + x) * 3;
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = b;
                }
            return rgb;
        }

        private sealed class Stats
        {
            public long Count;
            public double MeanX, MeanY;
            public long LeftHalf, RightHalf;
        }

        private static Stats Measure(SegmentationResult result, string label)
        {
            int c = result.Masks.IndexOf(label);
            Assert.True(c >= 0, $"model has no class '{label}'");
            var s = new Stats();
            double sx = 0, sy = 0;
            for (int y = 0; y < result.Height; y++)
                for (int x = 0; x < result.Width; x++)
                    if (result.Masks[c, x, y])
                    {
                        s.Count++;
                        sx += x;
                        sy += y;
                        if (x < result.Width / 2) s.LeftHalf++; else s.RightHalf++;
                    }
            if (s.Count > 0) { s.MeanX = sx / s.Count; s.MeanY = sy / s.Count; }
            return s;
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

        [Theory]
        [InlineData(512, 512)]
        [InlineData(600, 700)]
        public void FindsLungsAndHeartOnTheRightSidesOfASyntheticChest(int w, int h)
        {
            var model = CxasModel.Load(ModelDir);
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var image = new SourceImage(new Rgb24Raster(w, h, SyntheticChest(w, h)), new SourceInfo { Path = "x.png" });
            var result = segmenter.Segment(image, TimeSpan.Zero);
            Assert.Equal(w, result.Width);
            Assert.Equal(h, result.Height);

            double area = (double)w * h;
            var right = Measure(result, "right lung");
            var left = Measure(result, "left lung");
            var lung = Measure(result, "lung");
            var heart = Measure(result, "heart");

            // each drawn lung covers about 15 % of the image (less where the heart and spine cover it); a broad range
            Assert.InRange(right.Count / area, 0.04, 0.25);
            Assert.InRange(left.Count / area, 0.04, 0.25);
            Assert.InRange(lung.Count / area, 0.08, 0.45);
            // laterality: the patient's right lung lies on the image's left half, the left lung on the right half
            Assert.True(right.LeftHalf > 3 * right.RightHalf, $"right lung: {right.LeftHalf} px left, {right.RightHalf} px right");
            Assert.True(left.RightHalf > 3 * left.LeftHalf, $"left lung: {left.LeftHalf} px left, {left.RightHalf} px right");
            Assert.InRange(right.MeanX / w, 0.15, 0.45);
            Assert.InRange(left.MeanX / w, 0.55, 0.85);
            // the heart lies between the lungs, below the lung apices (on this cartoon the model finds only part of
            // the drawn heart, higher than drawn: the range is broad on purpose)
            Assert.InRange(heart.Count / area, 0.003, 0.20);
            Assert.InRange(heart.MeanX, right.MeanX, left.MeanX);
            Assert.InRange(heart.MeanY / h, 0.30, 0.85);
            // the two sides do not overlap much
            int rc = result.Masks.IndexOf("right lung"), lc = result.Masks.IndexOf("left lung");
            long both = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    if (result.Masks[rc, x, y] && result.Masks[lc, x, y]) both++;
            Assert.True(both < 0.05 * Math.Min(right.Count, left.Count), $"{both} px are both right and left lung");
        }
    }
}
