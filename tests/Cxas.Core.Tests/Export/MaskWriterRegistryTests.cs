using System.Text.RegularExpressions;
using Cxas.Export;

namespace Cxas.Core.Tests.Export
{
    /// <summary>The registry of mask output formats is the one list: docs/using.md documents exactly it, parsing reads it.</summary>
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
            // Formats a test registers (named "test-...") are not the product's.
            Assert.Equal(MaskWriters.Names.Where(n => !n.StartsWith("test-", StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal),
                documented.OrderBy(n => n, StringComparer.Ordinal));
        }

        [Fact]
        public void EveryFormatHasOneWriterAndItsNames()
        {
            Assert.Equal(new[] { MaskFormat.Png, MaskFormat.Jpg, MaskFormat.Npy, MaskFormat.Npz, MaskFormat.Json, MaskFormat.DicomSeg },
                MaskWriters.All.Take(6).Select(w => w.Format));
            Assert.Equal(new[] { "png", "jpg", "npy", "npz", "json", "dicom-seg" }, MaskWriters.Names.Take(6));
            foreach (var w in MaskWriters.All)
            {
                Assert.Same(w, MaskWriters.Parse(w.Name.ToUpperInvariant()));
                foreach (var alias in w.Aliases) Assert.Same(w, MaskWriters.Parse(" " + alias + " "));
                Assert.StartsWith(".", w.Extension);
                Assert.False(string.IsNullOrWhiteSpace(w.Description));
            }
            // The names the reference command line and earlier versions accepted still parse.
            Assert.Equal(MaskFormat.Jpg, MaskExporter.ParseFormat("jpeg"));
            Assert.Equal(MaskFormat.Json, MaskExporter.ParseFormat("coco"));
            Assert.Equal(MaskFormat.Npz, MaskExporter.ParseFormat(".npz"));
            foreach (var seg in new[] { "dicomseg", "dcm", "seg" }) Assert.Equal(MaskFormat.DicomSeg, MaskExporter.ParseFormat(seg));
            var ex = Assert.Throws<CxasException>(() => MaskExporter.ParseFormat("tiff"));
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
        public void ANewFormatIsOneClassRegisteredOnce()
        {
            if (MaskWriters.Find("test-counts") == null) MaskWriters.Register(new PixelCountWriter());
            Assert.Throws<CxasException>(() => MaskWriters.Register(new PixelCountWriter()));
            Assert.Contains("test-counts", MaskWriters.Names);

            var dir = TestSupport.NewTempDir();
            try
            {
                var result = ExportTests.RandomResult("counted", 37, 29, seed: 5);
                var record = new MaskExporter(dir, MaskExporter.ParseFormat("TEST-COUNTS"), overwrite: false).Export(result).Single();
                Assert.Equal(Path.Combine(dir, "counted.counts.txt"), record.OutputPath);
                var expected = result.Masks.Labels.Select((label, c) => $"{label} {result.PixelCounts[label]}");
                Assert.Equal(expected, File.ReadAllLines(record.OutputPath));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
