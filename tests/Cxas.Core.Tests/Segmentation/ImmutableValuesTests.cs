using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Cxas.DicomWeb;
using Cxas.Dimse;
using Cxas.Export;
using Cxas.Features;
using Cxas.Import;
using Cxas.Models;
using Cxas.Provisioning;

namespace Cxas.Core.Tests.Segmentation
{
    /// <summary>
    /// The values a user receives cannot be changed after they are made: no public setter (an <c>init</c> accessor counts,
    /// since PowerShell calls it like any setter), no mutable collection behind a getter; and their statuses are enums
    /// whose names are the words the documentation lists.
    /// </summary>
    public class ImmutableValuesTests
    {
        /// <summary>Results, their sources, feature values and results, export records, DICOM and model list entries.</summary>
        public static readonly Type[] Values =
        {
            typeof(SegmentationResult), typeof(SourceInfo), typeof(DicomIdentity), typeof(ClassPixelCounts), typeof(SegmentationOutcome),
            typeof(FeatureValue), typeof(CtrResult), typeof(ScdResult),
            typeof(MaskExportRecord), typeof(DicomInstance), typeof(ReceivedInstance),
            typeof(ModelCatalogEntry), typeof(ImportResult), typeof(InstallResult), typeof(DownloadResult),
            typeof(Cxas.Precision.PrecisionResult), typeof(Cxas.Precision.AgreementReport), typeof(Cxas.Precision.ClassAgreement),
        };

        // A collection a caller could change in place: an array, or a list, dictionary or set of the BCL (or a type derived from one).
        private static bool IsMutableCollection(Type type)
        {
            if (type.IsArray) return true;
            for (var t = type; t != null && t != typeof(object); t = t.BaseType)
                if (t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(List<>) || t.GetGenericTypeDefinition() == typeof(Dictionary<,>)
                                        || t.GetGenericTypeDefinition() == typeof(HashSet<>)))
                    return true;
            return false;
        }

        [Fact]
        public void NoValueHasAPublicSetterOrAMutableCollection()
        {
            var offences = new List<string>();
            foreach (var type in Values)
                foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                {
                    if (p.SetMethod != null && (p.SetMethod.IsPublic || p.SetMethod.IsFamily || p.SetMethod.IsFamilyOrAssembly))
                        offences.Add($"{type.Name}.{p.Name} has a public setter");
                    if (IsMutableCollection(p.PropertyType))
                        offences.Add($"{type.Name}.{p.Name} is a mutable {p.PropertyType.Name}");
                }
            foreach (var type in Values)
                if (IsMutableCollection(type)) offences.Add($"{type.Name} is itself a mutable collection");
            Assert.Empty(offences);
        }

        [Fact]
        public void PixelCountsRefuseChanges()
        {
            var set = Features.Synthetic.Set(40, 30, 40, 30, new[] { "heart" },
                new Dictionary<string, Func<int, int, bool>> { ["heart"] = (x, y) => x < 10 });
            var result = Features.Synthetic.Result(set);
            Assert.Equal(300, result.PixelCounts["HEART"]);
            // Through the non-generic dictionary, as PowerShell's $r.PixelCounts['heart'] = 0 would.
            Assert.Throws<NotSupportedException>(() => ((IDictionary)result.PixelCounts)["heart"] = 0L);
            Assert.Equal(300, result.PixelCounts["heart"]);
        }

        /// <summary>The words in backticks of the documentation sentence that starts with <paramref name="lead"/>, Status itself left out.</summary>
        private static string[] DocumentedWords(string lead)
        {
            var text = File.ReadAllText(Path.Combine(TestSupport.RepoRoot, "docs", "using.md"));
            int at = text.IndexOf(lead, StringComparison.Ordinal);
            Assert.True(at >= 0, $"docs/using.md no longer says '{lead}'");
            var sentence = text.Substring(at, Regex.Match(text.Substring(at), @"\.\s").Index);
            // `-Force` and the like are no status: a status is a word of letters.
            return Regex.Matches(sentence, "`([A-Za-z]+)`").Cast<Match>().Select(m => m.Groups[1].Value).Where(w => w != "Status").ToArray();
        }

        [Theory]
        [InlineData(typeof(FeatureValue), "`Status` is `OK`", new[] { "OK", "Missing", "TooFew", "Degenerate" })]
        [InlineData(typeof(MaskExportRecord), "`Status` is `Written`", new[] { "Written", "Stored", "Replaced", "Exists" })]
        public void StatusesAreEnumsNamedAsDocumented(Type value, string lead, string[] expected)
        {
            // The documentation and the enum agree with each other and with the words users filter on.
            Assert.Equal(expected, DocumentedWords(lead));
            var status = value.GetProperty("Status")!.PropertyType;
            Assert.True(status.IsEnum, $"{value.Name}.Status is a {status.Name}, not an enum");
            Assert.Equal(expected, Enum.GetNames(status));
        }
    }
}
