using Cxas.Inference;

namespace Cxas.Core.Tests.Segmentation
{
    /// <summary>Batched segmentation (-BatchSize) against the one-image path, which the parity tests tie to PyTorch.</summary>
    [Collection(Precision.PrecisionCollection.Name)]
    public class BatchTests
    {
        private static string RepoRoot => TestSupport.RepoRoot;

        [Fact]
        public void BatchOfImagesGivesTheMasksOfOneAtATime()
        {
            var model = CxasModel.Load(Path.Combine(RepoRoot, "models", "cxas-anatomy-r18"));
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var files = Directory.GetFiles(Path.Combine(RepoRoot, "samples"), "*.png").OrderBy(p => p).ToArray();
            var images = files.Concat(files.Take(1)).Select(f => ImageLoader.Load(f)).ToArray(); // three, one repeated
            var batch = segmenter.SegmentBatch(images, images.Select(_ => TimeSpan.Zero).ToArray());
            Assert.Equal(3, batch.Length);
            for (int i = 0; i < images.Length; i++)
            {
                var single = segmenter.Segment(images[i], TimeSpan.Zero);
                var a = single.Masks;
                var b = batch[i].Masks;
                Assert.Equal(images[i].Width, batch[i].Width);
                long differ = 0, set = 0;
                for (int c = 0; c < a.Count; c++)
                    for (int gy = 0; gy < a.GridHeight; gy++)
                        for (int gx = 0; gx < a.GridWidth; gx++)
                        {
                            if (a.GridBit(c, gx, gy) != b.GridBit(c, gx, gy)) differ++;
                            if (a.GridBit(c, gx, gy)) set++;
                        }
                Assert.True(set > 1000); // real anatomy found, so the comparison means something
                // Batched convolutions may sum in another order: a logit within rounding of the cut may flip.
                Assert.True(differ <= 3, $"image {i}: {differ} grid pixels differ");
                Assert.Equal(single.PixelCounts.Values.Sum() > 0, batch[i].PixelCounts.Values.Sum() > 0);
            }
        }

        [Fact]
        public void BatchInputMustHoldTheImages()
        {
            var model = CxasModel.Load(Path.Combine(RepoRoot, "models", "cxas-anatomy-r18"));
            using var sessions = new ModelSessions();
            var session = sessions.Get(model, DeviceSpec.Cpu);
            Assert.Throws<ArgumentException>(() => session.RunBatch(new float[3 * 320 * 320], 2, (i, l) => { }));
        }

        [Fact]
        public void BatchedQueueKeepsOrderPlacesErrorsAndMatchesTheUnbatchedQueue()
        {
            var model = CxasModel.Load(Path.Combine(RepoRoot, "models", "cxas-anatomy-r18"));
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var dir = TestSupport.NewTempDir();
            try
            {
                var samples = Directory.GetFiles(Path.Combine(RepoRoot, "samples"), "*.png").OrderBy(p => p).ToArray();
                var bad = Path.Combine(dir, "bad.png");
                File.WriteAllBytes(bad, File.ReadAllBytes(samples[0]).Take(300).ToArray());
                // Batches of 2: [s0, s1], [bad, s0], [s1] (the last one partial, run when the queue is drained).
                var inputs = new[] { samples[0], samples[1], bad, samples[0], samples[1] };
                List<SegmentationOutcome> Run(int batchSize)
                {
                    var queue = new SegmentationQueue(segmenter, depth: 2, batchSize: batchSize);
                    var outcomes = new List<SegmentationOutcome>();
                    foreach (var f in inputs)
                    {
                        outcomes.AddRange(queue.Submit(f));
                        outcomes.AddRange(queue.TakeCompleted());
                    }
                    SegmentationOutcome? o;
                    while ((o = queue.TakeNext()) != null) outcomes.Add(o);
                    return outcomes;
                }
                var batched = Run(2);
                var single = Run(1);
                Assert.Equal(inputs, batched.Select(o => o.Path));
                Assert.Equal(inputs, single.Select(o => o.Path));
                for (int i = 0; i < inputs.Length; i++)
                {
                    Assert.Equal(single[i].Result == null, batched[i].Result == null);
                    if (single[i].Result == null)
                    {
                        Assert.IsType<CxasException>(batched[i].Error);
                        Assert.Equal(single[i].Error!.Message, batched[i].Error!.Message);
                        continue;
                    }
                    foreach (var label in model.Labels)
                    {
                        // As above: a logit within rounding of the cut may flip under batched convolution.
                        long a = single[i].Result!.Masks.GetMask(label).Count(), b = batched[i].Result!.Masks.GetMask(label).Count();
                        Assert.True(Math.Abs(a - b) <= 64, $"{inputs[i]} {label}: {a} against {b}");
                    }
                }
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
