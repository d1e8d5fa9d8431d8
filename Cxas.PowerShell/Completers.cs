using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace Cxas.PowerShell
{
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

    /// <summary>Completes -Device.</summary>
    public sealed class DeviceCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            foreach (var d in new[] { "Auto", "Cpu", "Cuda", "Cuda:0", "Cuda:1" })
                if (d.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
                    yield return new CompletionResult(d, d, CompletionResultType.ParameterValue, d);
        }
    }
}
