namespace Cxas.Core.Tests.Segmentation
{
    /// <summary>
    /// End-to-end checks against the closed-form model: every mask pixel must equal the rule
    /// "8-bit channel (k mod 3) of the nearest-sampled source pixel exceeds (k*37 mod 255)", with the reference's
    /// nearest rule applied both ways, computed here independently of the library.
    /// </summary>
    public class PipelineTests : TempFolderTests
    {
        /// <summary>ATen's nearest source index, float32 arithmetic: min(floor(dst * (float)in/out), in-1).</summary>
        internal static int TorchNearest(int dst, int inSize, int outSize)
        {
            float scale = (float)inSize / outSize;
            float p = dst * scale;
            return Math.Min((int)Math.Floor(p), inSize - 1);
        }

        internal static byte[] PatternRgb(int w, int h, int seed)
        {
            var rng = new Random(seed);
            var rgb = new byte[w * h * 3];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int o = (y * w + x) * 3;
                    rgb[o] = (byte)((x * 7 + y * 3) % 256);
                    rgb[o + 1] = (byte)((y * 5 + (x / 3)) % 256);
                    rgb[o + 2] = (byte)rng.Next(256);
                }
            return rgb;
        }

        [Fact]
        public void OneSegmenterServesSeveralThreadsAtOnce()
        {
            // The segmenter reuses its input buffer; callers on several threads (a library user's Parallel.For) must
            // still each get the masks of their own image, the ones a call alone gives.
            const int classes = 6, size = 64, images = 8;
            var model = CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, classes, size));
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var sources = Enumerable.Range(0, images)
                .Select(i => new SourceImage(new Rgb24Raster(size, size, PatternRgb(size, size, 100 + i)), new SourceInfo($"p{i}.png", "")))
                .ToArray();
            var alone = sources.Select(img => segmenter.Segment(img, TimeSpan.Zero).PixelCounts.Values.ToArray()).ToArray();
            var together = new long[images * 6][];
            System.Threading.Tasks.Parallel.For(0, together.Length, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 4 },
                j => together[j] = segmenter.Segment(sources[j % images], TimeSpan.Zero).PixelCounts.Values.ToArray());
            for (int j = 0; j < together.Length; j++) Assert.Equal(alone[j % images], together[j]);
        }

        [Theory]
        [InlineData(64, 64, 64)]     // same size
        [InlineData(700, 300, 64)]   // wide, down and up
        [InlineData(37, 129, 64)]    // odd sizes, upsampled width
        [InlineData(128, 128, 64)]   // exact doubling back
        [InlineData(1000, 999, 96)]  // non power-of-two input size
        public void MasksFollowTheClosedFormRuleAtFullResolution(int width, int height, int inputSize)
        {
            const int classes = 12;
            var model = CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, classes, inputSize));
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var rgb = PatternRgb(width, height, width * 31 + height);
            var image = new SourceImage(new Rgb24Raster(width, height, rgb), new SourceInfo("pattern.png", "PNG"));

            var result = segmenter.Segment(image, TimeSpan.Zero);

            Assert.Equal(width, result.Width);
            Assert.Equal(height, result.Height);
            Assert.Equal("Cpu", result.Device);
            for (int k = 0; k < classes; k++)
            {
                var mask = result.Masks.GetMask(k);
                long expectedCount = 0;
                for (int y = 0; y < height; y++)
                {
                    int sy = TorchNearest(TorchNearest(y, inputSize, height), height, inputSize);
                    for (int x = 0; x < width; x++)
                    {
                        int sx = TorchNearest(TorchNearest(x, inputSize, width), width, inputSize);
                        bool expected = rgb[(sy * width + sx) * 3 + k % 3] > (k * 37) % 255;
                        if (expected) expectedCount++;
                        if (mask[x, y] != expected)
                            Assert.Fail($"class {k} pixel ({x},{y}) is {mask[x, y]}, expected {expected}");
                        Assert.Equal(expected, result.Masks[k, x, y]);
                    }
                }
                Assert.Equal(expectedCount, mask.Count());
                Assert.Equal(expectedCount, result.PixelCounts["class " + k]);
                Assert.Equal(expectedCount, result.Masks.PixelCounts[k]);
            }
        }

        [Fact]
        public void LabelOrderFollowsOutputChannels()
        {
            // Classes 0, 3, 6 read red, 1, 4, 7 green, 2, 5, 8 blue: a pure red image lights only red classes whose level < 255.
            var model = CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, 9, 32));
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var rgb = new byte[40 * 20 * 3];
            for (int i = 0; i < rgb.Length; i += 3) rgb[i] = 255;
            var result = segmenter.Segment(new SourceImage(new Rgb24Raster(40, 20, rgb), new SourceInfo("red.png", "")), TimeSpan.Zero);
            for (int k = 0; k < 9; k++)
                Assert.Equal(k % 3 == 0 ? 800L : 0L, result.PixelCounts["class " + k]);
            Assert.Equal("class 0; class 3; class 6", result.PresentLabels);
        }

        [Fact]
        public void ThresholdFromTheManifestIsApplied()
        {
            // threshold 0.5 is logit 0; a stricter probability moves the cut: sigmoid(v - t) > 0.6 <=> v - t > ln(1.5).
            var dir = TestSupport.WriteClosedFormModel(Dir, 3, 16);
            var manifestPath = Path.Combine(dir, "model.json");
            var manifest = ModelManifest.Load(manifestPath);
            manifest.Threshold = 0.6;
            manifest.Save(manifestPath);
            File.SetLastWriteTimeUtc(manifestPath, DateTime.UtcNow.AddSeconds(5));
            var model = CxasModel.Load(dir);
            var rgb = new byte[256 * 1 * 3];
            for (int x = 0; x < 256; x++) rgb[x * 3] = (byte)x;
            var raster = new Rgb24Raster(256, 1, rgb);
            var result = new Segmenter(model, DeviceSpec.Cpu).Segment(new SourceImage(raster, new SourceInfo("ramp.png", "")), TimeSpan.Zero);
            double cut = Math.Log(0.6 / 0.4);
            long expected = 0;
            for (int x = 0; x < 256; x++)
            {
                int sx = TorchNearest(TorchNearest(x, 16, 256), 256, 16);
                if (sx / 255.0 - (0 + 0.5) / 255.0 > cut) expected++;
            }
            Assert.Equal(expected, result.PixelCounts["class 0"]);
        }

        [Fact]
        public void MasksOfAReferenceSizedResultStayBitPacked()
        {
            // 159 classes at 3000x2500 from a 512x512 output: storage must not grow with the image size.
            var labels = Enumerable.Range(0, 159).Select(i => "c" + i).ToArray();
            var logits = new float[159 * 512 * 512];
            var rng = new Random(3);
            for (int i = 0; i < logits.Length; i++) logits[i] = (float)(rng.NextDouble() - 0.5);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var masks = new MaskSet(labels, 512, 512, 3000, 2500);
            masks.SetFromLogits(logits, 0f);
            var counts = masks.PixelCounts;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 12_000_000, $"allocated {allocated:N0} bytes for 159 masks");
            Assert.True(counts.All(c => c > 0));
            // One class at full resolution is bit-packed: about 3000*2500/8 bytes.
            before = GC.GetAllocatedBytesForCurrentThread();
            var one = masks.GetMask(7);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 1_100_000, $"allocated {allocated:N0} bytes for one mask");
            Assert.Equal(counts[7], one.Count());
        }

        [Fact]
        public void ColumnMajorRunsDescribeTheMask()
        {
            var labels = new[] { "a", "b" };
            var masks = new MaskSet(labels, 8, 8, 21, 13);
            var rng = new Random(11);
            for (int gy = 0; gy < 8; gy++)
                for (int gx = 0; gx < 8; gx++)
                    masks.SetGridBit(0, gx, gy, rng.Next(3) == 0);
            masks.SetGridBit(1, 0, 0, true);
            for (int c = 0; c < 2; c++)
            {
                var runs = masks.ColumnMajorRuns(c);
                var mask = masks.GetMask(c);
                var flat = new bool[21 * 13];
                int pos = 0;
                bool value = false;
                foreach (var run in runs)
                {
                    for (int i = 0; i < run; i++) flat[pos++] = value;
                    value = !value;
                }
                Assert.Equal(21 * 13, pos);
                for (int x = 0; x < 21; x++)
                    for (int y = 0; y < 13; y++)
                        Assert.Equal(mask[x, y], flat[x * 13 + y]);
            }
            Assert.Equal(0L, masks.ColumnMajorRuns(1)[0]);
        }

        [Fact]
        public void BoundingBoxMatchesTheFullResolutionMask()
        {
            var masks = new MaskSet(new[] { "a", "empty" }, 16, 16, 50, 37);
            masks.SetGridBit(0, 3, 4, true);
            masks.SetGridBit(0, 10, 12, true);
            var mask = masks.GetMask(0);
            int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
            for (int y = 0; y < 37; y++)
                for (int x = 0; x < 50; x++)
                    if (mask[x, y]) { minX = Math.Min(minX, x); minY = Math.Min(minY, y); maxX = Math.Max(maxX, x); maxY = Math.Max(maxY, y); }
            Assert.Equal((minX, minY, maxX - minX + 1, maxY - minY + 1), masks.BoundingBox(0)!.Value);
            Assert.Null(masks.BoundingBox(1));
        }

        [Fact]
        public void QueueKeepsOrderAndReportsBadFilesWithoutStopping()
        {
            var model = CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, 3, 32));
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var queue = new SegmentationQueue(segmenter);
            var files = Enumerable.Range(0, 6).Select(i => Path.Combine(Dir, $"img{i}.png")).ToList();
            for (int i = 0; i < files.Count; i++)
            {
                if (i == 3) { File.WriteAllText(files[i], "not an image"); continue; }
                using var img = Image.LoadPixelData<Rgb24>(PatternRgb(40 + i, 30, i), 40 + i, 30);
                img.SaveAsPng(files[i]);
            }
            var outcomes = files.SelectMany(f => queue.Submit(f)).ToList();
            SegmentationOutcome? o;
            while ((o = queue.TakeNext()) != null) outcomes.Add(o);
            Assert.Equal(files, outcomes.Select(x => x.Path));
            Assert.Equal(5, outcomes.Count(x => x.Result != null));
            var error = Assert.IsType<CxasException>(outcomes[3].Error);
            Assert.Equal(files[3], error.FilePath);
            Assert.Equal(40 + 4, outcomes[4].Result!.Width);
        }
    }
}
