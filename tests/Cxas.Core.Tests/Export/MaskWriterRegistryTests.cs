using System.Text.RegularExpressions;
using Cxas.Export;
using Cxas.Runs;

namespace Cxas.Core.Tests.Export
{
    /// <summary>
    /// The mask output formats of a configuration are the one list its parsing, plan and exporter read: docs/using.md
    /// documents exactly the built-in ones; a format registered on one configuration reaches that configuration only.
    /// </summary>
    public class MaskWriterRegistryTests
    {
        /// <summary>The first-column names of the table under the heading "Output layouts" in docs/using.md.</summary>
        private static string[] DocumentedOutputFormats()
        {
            var lines = File.ReadAllLines(Path.Combine(TestSupport.RepoRoot, "docs", "using.md"));
            int heading = Array.FindIndex(lines, l => l.StartsWith("#", StringComparison.Ordinal) && l.Contains("Output layouts"));
            Assert.True(heading >= 0, "docs/using.md has no 'Output layouts' heading.");
            var table = lines.Skip(heading + 1).SkipWhile(l => !l.StartsWith("|", StringComparison.Ordinal)).TakeWhile(l => l.StartsWith("|", StringComparison.Ordinal)).ToArray();
            Assert.True(table.Length > 2, "No table under 'Output layouts'.");
            return table.Skip(2) // header and separator
                .Select(l => Regex.Match(l, @"^\|\s*`([^`]+)`\s*\|"))
                .Select(m => { Assert.True(m.Success, "A row of the output-format table does not start with a `name`."); return m.Groups[1].Value; })
                .ToArray();
        }

        [Fact]
        public void DocumentedTableListsExactlyTheRegisteredFormats()
        {
            var documented = DocumentedOutputFormats();
            Assert.Equal(documented.Length, documented.Distinct().Count());
            Assert.Equal(MaskWriters.Default.Names.OrderBy(n => n, StringComparer.Ordinal), documented.OrderBy(n => n, StringComparer.Ordinal));
        }

        [Fact]
        public void EveryFormatHasOneWriterAndItsNames()
        {
            Assert.Equal(new[] { MaskFormat.Png, MaskFormat.Jpg, MaskFormat.Npy, MaskFormat.Npz, MaskFormat.Json, MaskFormat.DicomSeg },
                MaskWriters.Default.All.Select(w => w.Format));
            Assert.Equal(new[] { "png", "jpg", "npy", "npz", "json", "dicom-seg" }, MaskWriters.Default.Names);
            foreach (var w in MaskWriters.Default.All)
            {
                Assert.Same(w, MaskWriters.Default.Parse(w.Name.ToUpperInvariant()));
                foreach (var alias in w.Aliases) Assert.Same(w, MaskWriters.Default.Parse(" " + alias + " "));
                Assert.StartsWith(".", w.Extension);
                Assert.False(string.IsNullOrWhiteSpace(w.Description));
            }
            // The names the reference command line and earlier versions accepted still parse.
            Assert.Equal(MaskFormat.Jpg, MaskWriters.Default.ParseFormat("jpeg"));
            Assert.Equal(MaskFormat.Json, MaskWriters.Default.ParseFormat("coco"));
            Assert.Equal(MaskFormat.Npz, MaskWriters.Default.ParseFormat(".npz"));
            foreach (var seg in new[] { "dicomseg", "dcm", "seg" }) Assert.Equal(MaskFormat.DicomSeg, MaskWriters.Default.ParseFormat(seg));
            var ex = Assert.Throws<CxasException>(() => MaskWriters.Default.ParseFormat("tiff"));
            Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
            Assert.Contains("png, jpg, npy, npz, json, dicom-seg", ex.Message);
        }

        /// <summary>A format made for this test: per input, one line "label count" per class, as text.</summary>
        private sealed class PixelCountWriter : StreamedFileWriter
        {
            public PixelCountWriter() : base("test-counts", ".counts.txt", "pixel counts per class, as text") { }

            protected override void WriteStream(Stream output, Cxas.Masks.MaskSet masks, IReadOnlyList<int> classes)
            {
                using var writer = new StreamWriter(output, new System.Text.UTF8Encoding(false), 4096, leaveOpen: true);
                foreach (var c in classes) writer.Write($"{masks.Labels[c]} {masks.GetMask(c).Count()}\n");
            }
        }

        [Fact]
        public void ANewFormatIsOneClassRegisteredOnceOnItsConfiguration()
        {
            var configuration = CxasConfiguration.Default.Clone();
            configuration.Writers.Register(new PixelCountWriter());
            Assert.Throws<CxasException>(() => configuration.Writers.Register(new PixelCountWriter()));
            Assert.Contains("test-counts", configuration.Writers.Names);

            var dir = TestSupport.NewTempDir();
            try
            {
                var result = ExportTests.RandomResult("counted", 37, 29, seed: 5);
                var format = configuration.Writers.ParseFormat("TEST-COUNTS");
                using var exporter = new MaskExporter(dir, format, overwrite: false, writers: configuration.Writers);
                var record = exporter.Export(result).Single();
                Assert.Equal(Path.Combine(dir, "counted.counts.txt"), record.OutputPath);
                var expected = result.Masks.Labels.Select((label, c) => $"{label} {result.PixelCounts[label]}");
                Assert.Equal(expected, File.ReadAllLines(record.OutputPath));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        /// <summary>
        /// Registering into the default configuration is refused (it is every caller's), so what one caller registers
        /// never reaches another: the default and a second copy neither parse nor plan for the first copy's format.
        /// </summary>
        [Fact]
        public void AFormatRegisteredOnOneConfigurationIsSeenThereOnly()
        {
            Assert.True(CxasConfiguration.Default.IsReadOnly);
            Assert.Throws<InvalidOperationException>(() => CxasConfiguration.Default.Writers.Register(new PixelCountWriter()));
            Assert.Throws<InvalidOperationException>(() => MaskWriters.Default.Register(new PixelCountWriter()));
            Assert.Null(MaskWriters.Default.Find("test-counts"));

            var mine = CxasConfiguration.Default.Clone();
            var other = CxasConfiguration.Default.Clone();
            Assert.False(mine.IsReadOnly);
            mine.Writers.Register(new PixelCountWriter());
            Assert.Equal(MaskFormat.Png, mine.Writers.ParseFormat("png"));
            Assert.Equal("test-counts", mine.Writers.ParseFormat("test-counts").Name);
            foreach (var elsewhere in new[] { CxasConfiguration.Default.Writers, other.Writers })
            {
                Assert.Null(elsewhere.Find("test-counts"));
                var ex = Assert.Throws<CxasException>(() => elsewhere.ParseFormat("test-counts"));
                Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
            }
        }

        /// <summary>
        /// The output plan keeps apart the outputs of the formats of the configuration it is given, read at each use: a
        /// format registered after the plan was made still counts. "x.png" writes x.counts.txt there, so a second input
        /// "x.counts.txt.png" cannot take the stem "x.counts.txt" and gets its whole file name; a plan of the default
        /// configuration, which has no such format, gives it the stem. (Before, the plan took a static copy of the formats
        /// at its first use, so a format registered later was not kept apart.)
        /// </summary>
        [Fact]
        public void ThePlanKeepsApartTheOutputsOfItsConfigurationsFormats()
        {
            var dir = TestSupport.NewTempDir();
            try
            {
                var mine = CxasConfiguration.Default.Clone();
                using var plan = new OutputPlan(Path.Combine(dir, "out"), useJournal: false, mine.Writers);
                Assert.Equal("before", plan.Plan(Path.Combine(dir, "in", "before.png"), null).RelativeBase); // the plan in use
                mine.Writers.Register(new PixelCountWriter());
                var first = plan.Plan(Path.Combine(dir, "in", "x.png"), null);
                var second = plan.Plan(Path.Combine(dir, "in", "x.counts.txt.png"), null);
                Assert.Equal("x", first.RelativeBase);
                Assert.Equal("x.counts.txt.png", second.RelativeBase);
                var counts = mine.Writers.ParseFormat("test-counts");
                Assert.NotEqual(first.TargetFor(counts), second.TargetFor(counts));

                using var byDefault = new OutputPlan(Path.Combine(dir, "out2"), useJournal: false);
                byDefault.Plan(Path.Combine(dir, "in", "x.png"), null);
                Assert.Equal("x.counts.txt", byDefault.Plan(Path.Combine(dir, "in", "x.counts.txt.png"), null).RelativeBase);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
