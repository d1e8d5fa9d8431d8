using System.Text.RegularExpressions;

namespace Cxas.Core.Tests.Architecture;

/// <summary>
/// Cxas.Core's public surface is the documented one: the types the assembly exports (public, nested public types of
/// public types included) are exactly those listed under "The public types" in docs/architecture.md ("Using Cxas.Core
/// from C#"). The list is read from the document as a reader sees it: a namespace line <c>**`Cxas.X`**</c>, then one
/// bullet per type, <c>- `Name`: what it is for</c> (a nested type as <c>Outer.Inner</c>). A type made public without
/// a line there, or a line left for a type made internal or removed, fails the test with its name.
/// </summary>
public sealed class PublicSurfaceTests
{
    private const string Heading = "### The public types";
    private static readonly Regex NamespaceLine = new Regex(@"^\*\*`(?<ns>Cxas(\.[A-Z][A-Za-z0-9]*)*)`\*\*\s*$");
    private static readonly Regex TypeLine = new Regex(@"^- `(?<name>[A-Z][A-Za-z0-9]*(\.[A-Z][A-Za-z0-9]*)*)`: \S.*$");

    private readonly ITestOutputHelper _output;

    public PublicSurfaceTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void ExportedTypesAreExactlyTheDocumentedOnes()
    {
        var documented = DocumentedTypes(File.ReadAllLines(Path.Combine(TestSupport.RepoRoot, "docs", "architecture.md")));
        // Nested types' full names use '+' (Outer+Inner); the document writes them as C# does, with a dot.
        var exported = typeof(ImageLoader).Assembly.GetExportedTypes().Select(t => t.FullName!.Replace('+', '.')).ToList();

        var undocumented = exported.Except(documented, StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var notPublic = documented.Except(exported, StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();
        _output.WriteLine($"{exported.Count} exported types, {documented.Count} documented.");
        Assert.True(undocumented.Count == 0 && notPublic.Count == 0,
            $"Cxas.Core exports {exported.Count} types, docs/architecture.md ('{Heading}') lists {documented.Count}.\n" +
            $"Public but not documented ({undocumented.Count}): {string.Join(", ", undocumented)}\n" +
            $"Documented but not public ({notPublic.Count}): {string.Join(", ", notPublic)}");
    }

    /// <summary>
    /// The reader refuses what it cannot place rather than skipping it, so a mistyped line cannot drop a type from
    /// the comparison: a bullet that is not a type line, a type before any namespace, a type listed twice.
    /// </summary>
    [Theory]
    [InlineData("- `Segmenter` segments one image", "not of the form")]
    [InlineData("- `Segmenter`:", "not of the form")]
    [InlineData("- Segmenter: runs the model", "not of the form")]
    [InlineData("- `Segmenter`: runs the model\n**`Cxas.Segmentation`**\n- `Segmenter`: again", "before any namespace")]
    [InlineData("**`Cxas.Segmentation`**\n- `Segmenter`: runs the model\n- `Segmenter`: again", "twice")]
    public void MalformedListsAreRefused(string list, string expected)
    {
        var lines = new[] { "# Doc", Heading, "" }.Concat(list.Split('\n')).Concat(new[] { "", "## Next" }).ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => DocumentedTypes(lines));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void AWellFormedListIsReadWithNestedTypesAndStopsAtTheNextHeading()
    {
        var lines = new[]
        {
            Heading, "Prose before the list.", "", "**`Cxas`**", "- `CxasException`: the exception", "",
            "**`Cxas.Dicom.Seg`**", "- `SegUids`: UIDs", "- `Outer.Inner`: a nested type", "", "## Int8", "- `NotAType`: after the section",
        };
        Assert.Equal(new[] { "Cxas.CxasException", "Cxas.Dicom.Seg.SegUids", "Cxas.Dicom.Seg.Outer.Inner" }, DocumentedTypes(lines));
    }

    /// <summary>
    /// The full names listed from <see cref="Heading"/> to the next heading of the same or a higher level; prose lines
    /// (neither a bullet nor a namespace line) are skipped.
    /// </summary>
    private static List<string> DocumentedTypes(IReadOnlyList<string> lines)
    {
        int start = lines.ToList().FindIndex(l => l.Trim() == Heading);
        if (start < 0) throw new InvalidDataException($"docs/architecture.md has no '{Heading}' section.");
        var names = new List<string>();
        string? ns = null;
        for (int i = start + 1; i < lines.Count; i++)
        {
            var line = lines[i].TrimEnd();
            if (line.StartsWith("## ", StringComparison.Ordinal) || line.StartsWith("### ", StringComparison.Ordinal)) break;
            var nsMatch = NamespaceLine.Match(line);
            if (nsMatch.Success) { ns = nsMatch.Groups["ns"].Value; continue; }
            if (!line.StartsWith("- ", StringComparison.Ordinal)) continue;
            var type = TypeLine.Match(line);
            if (!type.Success) throw new InvalidDataException($"Line {i + 1} is not of the form - `Type`: what it is for: {line}");
            if (ns == null) throw new InvalidDataException($"Line {i + 1} lists a type before any namespace line: {line}");
            var name = ns + "." + type.Groups["name"].Value;
            if (names.Contains(name)) throw new InvalidDataException($"{name} is listed twice (line {i + 1}).");
            names.Add(name);
        }
        if (names.Count == 0) throw new InvalidDataException($"'{Heading}' lists no type.");
        return names;
    }
}
