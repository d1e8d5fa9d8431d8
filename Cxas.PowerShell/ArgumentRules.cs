using System.Collections;
using System.Management.Automation.Language;
using Cxas.Export;
using Cxas.Features;

namespace Cxas.PowerShell;

/// <summary>
/// The argument vocabularies that several cmdlets share, each checked and completed from the one list Core keeps:
/// mask formats (the writers of <see cref="CxasCmdlet.Configuration"/>) and feature names (<see cref="FeatureNames"/>). A parameter declares
/// the attribute and the completer; parsing goes through the same Core call, so the three never disagree.
/// </summary>
public sealed class ValidateMaskFormatAttribute : ValidateEnumeratedArgumentsAttribute
{
    protected override void ValidateElement(object element)
    {
        try { CxasCmdlet.Configuration.Writers.ParseFormat(element?.ToString() ?? ""); }
        catch (CxasException ex) { throw new ValidationMetadataException(ex.Message); }
    }
}

/// <summary>Completes mask formats with the names the exporter knows.</summary>
public sealed class MaskFormatCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        ArgumentRules.Complete(CxasCmdlet.Configuration.Writers.Names, wordToComplete);
}

/// <summary>Accepts feature names (short or the reference's long ones), optionally only some features.</summary>
public sealed class ValidateFeatureAttribute : ValidateEnumeratedArgumentsAttribute
{
    private readonly FeatureKind[] _allowed;

    public ValidateFeatureAttribute(params FeatureKind[] allowed) => _allowed = allowed;

    protected override void ValidateElement(object element)
    {
        var text = element?.ToString() ?? "";
        if (!FeatureNames.TryParse(text, out var kind) || (_allowed.Length > 0 && !_allowed.Contains(kind)))
            throw new ValidationMetadataException($"'{text}' is not one of {string.Join(", ", Names(_allowed))}.");
    }

    internal static IEnumerable<string> Names(FeatureKind[] allowed) =>
        FeatureNames.All.Where(n => allowed.Length == 0 || (FeatureNames.TryParse(n, out var k) && allowed.Contains(k)));
}

/// <summary>Completes -Feature with the feature names (short names and the reference's long names).</summary>
public sealed class FeatureCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        // Export-CxasOverlay draws CTR and SCD only.
        var allowed = commandName != null && commandName.EndsWith("CxasOverlay", StringComparison.OrdinalIgnoreCase)
            ? new[] { FeatureKind.CTR, FeatureKind.SCD }
            : Array.Empty<FeatureKind>();
        var names = ValidateFeatureAttribute.Names(allowed).Where(n => Enum.IsDefined(typeof(FeatureKind), n) || n.IndexOf(' ') >= 0 || n.IndexOf('-') >= 0);
        return ArgumentRules.Complete(names, wordToComplete);
    }
}

internal static class ArgumentRules
{
    /// <summary>The names starting with the word, quoted where they hold a space.</summary>
    internal static IEnumerable<CompletionResult> Complete(IEnumerable<string> names, string? wordToComplete)
    {
        var word = (wordToComplete ?? "").Trim('\'', '"');
        foreach (var name in names)
        {
            if (!name.StartsWith(word, StringComparison.OrdinalIgnoreCase)) continue;
            var text = name.IndexOf(' ') >= 0 ? "'" + name + "'" : name;
            yield return new CompletionResult(text, name, CompletionResultType.ParameterValue, name);
        }
    }

    /// <summary>The features named, each once, in the order given (already validated, or validated here).</summary>
    internal static List<FeatureKind> Features(IEnumerable<string> names) => names.Select(FeatureNames.Parse).Distinct().ToList();
}

/// <summary>
/// Keeps segmentation results off a path parameter. PowerShell converts pipeline input for the default parameter set
/// first, and any object converts to a string; a result (live, or deserialized from a job or remote session) is handed
/// on as a value that no string conversion accepts, so PowerShell passes over -Path (as for any input whose type does
/// not fit) and binds the result to the cmdlet's -Result parameter instead. Throwing here would stop the binding.
/// </summary>
public sealed class PathNotResultAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        if (IsResult(inputData)) return NotAPath.Value;
        if (inputData is object[] items && items.Any(IsResult)) return NotAPath.Value;
        return inputData;
    }

    private static bool IsResult(object? value)
    {
        if (value is SegmentationResult) return true;
        if (!(value is PSObject pso)) return false;
        if (pso.BaseObject is SegmentationResult) return true;
        return pso.TypeNames.Contains(ResultTransferConverter.DeserializedTypeName);
    }

    /// <summary>A value that refuses to become a string.</summary>
    private sealed class NotAPath
    {
        public static readonly NotAPath Value = new NotAPath();
        public override string ToString() => throw new InvalidCastException("A segmentation result is not a path.");
    }
}
