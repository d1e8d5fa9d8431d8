using Cxas.Testing;

namespace Cxas.Core.Tests.Imaging
{
    /// <summary>
    /// The CI subset of the PNG/JPEG mutation run (the full run, over 10,000 files, is <c>bench/Cxas.Bench.Mutation</c>):
    /// 1,500 files from 8 radiographs of <c>../shared</c>, fixed seed; no non-Cxas error, no result for a file PIL
    /// rejects as damaged, no file over 10 s, no result allocating more than <see cref="Cxas.Imaging.ImageLimits.DecodeMemoryBound"/>.
    /// </summary>
    [Collection(nameof(ImageMutationTests))]
    public sealed class ImageMutationTests
    {
        private readonly ITestOutputHelper _out;

        public ImageMutationTests(ITestOutputHelper output) => _out = output;

        [OracleFact("shared")]
        public void MutatedRadiographsGiveCxasErrorsOrResultsPilAlsoDecodes()
        {
            Oracles.Require("shared");
            var shared = TestSupport.Shared!;
            var work = TestSupport.NewTempDir();
            try
            {
                var report = new ImageMutationHarness(new ImageMutationHarness.Options
                {
                    Files = 1500, Sources = 8, SharedRoot = shared, WorkDir = work, HangSeconds = 60, Log = _out.WriteLine,
                }).Run();
                foreach (var line in report.Lines()) _out.WriteLine(line);
                Assert.Equal(1500, report.Files);
                Assert.Equal(0, report.Hangs);
                Assert.Empty(report.NonCxasErrors);
                Assert.Empty(report.UnexpectedInner);
                Assert.Empty(report.ResultsPilRejects);
                Assert.Empty(report.Slow);
                Assert.Empty(report.OverMemoryBound);
                Assert.True(report.Outcomes.Keys.All(k => k == "result" || k.StartsWith("Cxas.")));
            }
            finally
            {
                Directory.Delete(work, true);
            }
        }
    }

    /// <summary>Alone: the bytes each decode allocates are counted process-wide.</summary>
    [CollectionDefinition(nameof(ImageMutationTests), DisableParallelization = true)]
    public sealed class ImageMutationCollection
    {
    }
}
