using System.Threading;
using Cxas.Export;

namespace Cxas.Core.Tests.Precision
{
    /// <summary>Export on its own thread against export in line: the same files byte for byte, in order, never more than its capacity held.</summary>
    [Collection(PrecisionCollection.Name)]
    public class ExportWorkerTests
    {
        private static string RepoRoot => TestSupport.RepoRoot;

        [Fact]
        public void WorkerWritesTheSameFilesAsInlineExport()
        {
            var model = CxasModel.Load(Path.Combine(RepoRoot, "models", "cxas-anatomy-r18"));
            var segmenter = new Segmenter(model, DeviceSpec.Cpu);
            var results = Directory.GetFiles(Path.Combine(RepoRoot, "samples"), "*.png").OrderBy(p => p).Select(segmenter.Segment).ToArray();
            var dir = TestSupport.NewTempDir();
            try
            {
                var inline = Path.Combine(dir, "inline");
                var overlapped = Path.Combine(dir, "worker");
                using (var exporter = new MaskExporter(inline, MaskFormat.Png, overwrite: false))
                    foreach (var r in results) exporter.Export(r);
                using (var exporter = new MaskExporter(overlapped, MaskFormat.Png, overwrite: false))
                using (var worker = ExportWorker.For(exporter, capacity: 1))
                {
                    foreach (var r in results) worker.Add(r);
                    var outcomes = worker.Complete();
                    Assert.Equal(results, outcomes.Select(o => o.Result));
                    Assert.All(outcomes, o => Assert.Null(o.Error));
                    Assert.All(outcomes, o => Assert.Single(o.Records)); // one folder of 9 PNGs per image
                }
                var a = Directory.GetFiles(inline, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(inline, f)).OrderBy(f => f).ToArray();
                var b = Directory.GetFiles(overlapped, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(overlapped, f)).OrderBy(f => f).ToArray();
                Assert.Equal(18, a.Length);
                Assert.Equal(a, b);
                foreach (var f in a) Assert.Equal(File.ReadAllBytes(Path.Combine(inline, f)), File.ReadAllBytes(Path.Combine(overlapped, f)));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void WorkerHoldsAtMostItsCapacityAndReportsErrorsPerResult()
        {
            var model = CxasModel.Load(Path.Combine(RepoRoot, "models", "cxas-anatomy-r18"));
            var result = new Segmenter(model, DeviceSpec.Cpu).Segment(Directory.GetFiles(Path.Combine(RepoRoot, "samples"), "*.png").First());
            int calls = 0;
            using var worker = new ExportWorker(r =>
            {
                Thread.Sleep(20);
                if (Interlocked.Increment(ref calls) == 3) throw new IOException("disk full");
                return Array.Empty<MaskExportRecord>();
            }, capacity: 2);
            for (int i = 0; i < 8; i++) worker.Add(result);
            var outcomes = worker.TakeCompleted().Concat(worker.Complete()).ToList();
            Assert.Equal(8, outcomes.Count);
            Assert.Equal(2, worker.MaxInFlight);
            Assert.Equal("disk full", outcomes[2].Error!.Message);
            Assert.Equal(7, outcomes.Count(o => o.Error == null));
            Assert.Throws<InvalidOperationException>(() => worker.Add(result));
        }
    }
}
