
namespace Cxas.Core.Tests.Precision
{
    /// <summary>Batched segmentation (-BatchSize) against the one-image path, which the parity tests tie to PyTorch.</summary>
    [Collection(PrecisionCollection.Name)]
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
            var session = model.GetSession(DeviceSpec.Cpu);
            Assert.Throws<ArgumentException>(() => session.RunBatch(new float[3 * 320 * 320], 2, (i, l) => { }));
        }
    }
}
