using System.Text.RegularExpressions;
using Cxas.Export;

namespace Cxas.Core.Tests.Export
{
    /// <summary>The registry of mask output formats is the one list: the README documents exactly it, parsing reads it.</summary>
    public class MaskWriterRegistryTests
    {
        /// <summary>The first-column names of the table under the README heading "Output layouts".</summary>
        private static string[] ReadmeOutputFormats()
        {
            var lines = File.ReadAllLines(Path.Combine(TestSupport.RepoRoot, "README.md"));
            int heading = Array.FindIndex(lines, l => l.StartsWith("#", StringComparison.Ordinal) && l.Contains("Output layouts"));
            Assert.True(heading >= 0, "README has no 'Output layouts' heading.");
            var table = lines.Skip(heading + 1).SkipWhile(l => !l.StartsWith("|", StringComparison.Ordinal)).TakeWhile(l => l.StartsWith("|", StringComparison.Ordinal)).ToArray();
            Assert.True(table.Length > 2, "No table under 'Output layouts'.");
            return table.Skip(2) // header and separator
                .Select(l => Regex.Match(l, @"^\|\s*`([^`]+)`\s*\|"))
                .Select(m => { Assert.True(m.Success, "A row of the output-format table does not start with a `name`."); return m.Groups[1].Value; })
                .ToArray();
        }

        [Fact]
        public void ReadmeTableListsExactlyTheRegisteredFormats()
        {
            var documented = ReadmeOutputFormats();
            Assert.Equal(documented.Length, documented.Distinct().Count());
            Assert.Equal(MaskWriters.Names.OrderBy(n => n, StringComparer.Ordinal), documented.OrderBy(n => n, StringComparer.Ordinal));
        }

        [Fact]
        public void EveryFormatHasOneWriterAndItsNames()
        {
            Assert.Equal(Enum.GetValues(typeof(MaskFormat)).Cast<MaskFormat>(), MaskWriters.All.Select(w => w.Format));
            Assert.Equal(new[] { "png", "jpg", "npy", "npz", "json", "dicom-seg" }, MaskWriters.Names);
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
    }
}
