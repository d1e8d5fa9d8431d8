namespace Cxas.Core.Tests.Trust
{
    /// <summary>
    /// A long run keeps nothing of the images it has finished: managed memory retained after 300 images (159 classes,
    /// 1024x1024 sources: 3 MB decoded and 5 MB of mask bits each) is within 50 MB of that after 50.
    /// </summary>
    public class MemoryTests : TempFolderTests
    {
        public MemoryTests(ITestOutputHelper output) : base(output: output) { }

        [Fact]
        public void RetainedMemoryStaysFlatOverAQueuedRun()
        {
            var file = Path.Combine(Dir, "chest.png");
            var pixels = new byte[1024 * 1024 * 3];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)((i / 3 % 1024 + i / 3072 / 7 + i % 3 * 40) & 255);
            using (var image = Image.LoadPixelData<Rgb24>(pixels, 1024, 1024)) image.SaveAsPng(file);

            var model = CxasModel.Load(Path.Combine(TestSupport.RepoRoot, "models", "cxas-test"));
            var queue = new SegmentationQueue(new Segmenter(model, DeviceSpec.Cpu));
            long after50 = 0, after300 = 0;
            int taken = 0;
            void Take(SegmentationOutcome o)
            {
                Assert.NotNull(o.Result);
                // Both measured while later images are still in flight, as in a real run.
                if (++taken == 50) after50 = Retained();
                if (taken == 298) after300 = Retained();
            }
            for (int i = 0; i < 300; i++)
                foreach (var o in queue.Submit(file)) Take(o);
            SegmentationOutcome? last;
            while ((last = queue.TakeNext()) != null) Take(last);
            GC.KeepAlive(queue);
            Out.WriteLine($"retained managed memory: {after50 / 1048576.0:F1} MB after 50 images, {after300 / 1048576.0:F1} MB after 300");
            Assert.Equal(300, taken);
            Assert.True(after300 - after50 < 50L << 20, $"grew by {(after300 - after50) / 1048576.0:F1} MB from image 50 to 300");
        }

        private static long Retained()
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            return GC.GetTotalMemory(forceFullCollection: true);
        }
    }
}
