using System.Collections;
using System.Management.Automation.Language;

namespace Cxas.PowerShell;

/// <summary>Completes -Label with the class names of the model named by -Model (or the default model).</summary>
public sealed class LabelCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var moduleDir = Path.GetDirectoryName(typeof(LabelCompleter).Assembly.Location)!;
        var model = fakeBoundParameters != null && fakeBoundParameters.Contains("Model") ? fakeBoundParameters["Model"]?.ToString() : null;
        var word = (wordToComplete ?? "").Trim('\'', '"');
        foreach (var label in LabelsFor(model, Path.Combine(moduleDir, "models")))
        {
            if (!label.StartsWith(word, StringComparison.OrdinalIgnoreCase) && label.IndexOf(word, StringComparison.OrdinalIgnoreCase) < 0) continue;
            var text = label.IndexOf(' ') >= 0 ? "'" + label + "'" : label;
            yield return new CompletionResult(text, label, CompletionResultType.ParameterValue, label);
        }
    }

    private static IReadOnlyList<string> LabelsFor(string? model, string moduleModels)
    {
        try { return Cxas.Models.ModelCatalog.FromEnvironment(moduleModels).Resolve(model).Labels; }
        catch (Exception) { return Array.Empty<string>(); }
    }
}

/// <summary>Completes -Model (and model names) with the models the catalog finds: the module's, per-user, machine-wide.</summary>
public sealed class ModelCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var moduleDir = Path.GetDirectoryName(typeof(ModelCompleter).Assembly.Location)!;
        var word = (wordToComplete ?? "").Trim('\'', '"');
        IReadOnlyList<Cxas.Models.ModelCatalogEntry> entries;
        try { entries = Cxas.Models.ModelCatalog.FromEnvironment(Path.Combine(moduleDir, "models")).List(); }
        catch (Exception) { yield break; }
        foreach (var name in entries.Select(e => e.Name).Distinct(StringComparer.OrdinalIgnoreCase))
            if (name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(name.IndexOf(' ') >= 0 ? "'" + name + "'" : name, name, CompletionResultType.ParameterValue, name);
    }
}

/// <summary>Completes -Device with Auto, Cpu and the CUDA devices this machine has (none where it has no NVIDIA driver).</summary>
public sealed class DeviceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var devices = new List<string> { "Auto", "Cpu" };
        int gpus = Cxas.Models.CudaDevices.Count();
        if (gpus > 0) devices.Add("Cuda");
        for (int i = 0; i < gpus; i++) devices.Add("Cuda:" + i);
        foreach (var d in devices)
            if (d.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(d, d, CompletionResultType.ParameterValue, d);
    }
}
