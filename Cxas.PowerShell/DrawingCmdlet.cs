using Cxas.Features;
using Cxas.Rendering;

namespace Cxas.PowerShell;

/// <summary>
/// The base of the cmdlets that draw results (Export-CxasOverlay, Export-CxasReport): which classes, in which colours
/// and how opaque, which CTR construction, and -PassThru to hand the results on. Each cmdlet sets its own defaults.
/// </summary>
public abstract class DrawingCmdlet : ResultCmdlet
{
    protected DrawingCmdlet(string[] defaultLabels, double defaultOpacity)
    {
        Label = defaultLabels;
        Opacity = defaultOpacity;
    }

    /// <summary>Classes to draw, bottom to top (Export-CxasOverlay: lung, heart; Export-CxasReport: a layer each for lung, heart, right hemidiaphragm, spine, those the model has).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(LabelCompleter))]
    public string[] Label { get; set; }

    /// <summary>Which CTR construction: Standard (default), Reference, or both.</summary>
    [Parameter]
    public CtrMethod[] CtrMethod { get; set; } = { Features.CtrMethod.Standard };

    /// <summary>Fill opacity of the classes, 0 to 1 (Export-CxasOverlay 0.35; Export-CxasReport 0.4, where a slider changes it).</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double Opacity { get; set; }

    /// <summary>Colours by class, e.g. @{ heart = '#ff0000' }.</summary>
    [Parameter]
    public System.Collections.Hashtable? Color { get; set; }

    /// <summary>Emit the input results (for further cmdlets in the pipeline) instead of the files written.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    /// <summary>-Color, parsed (call from the setup): class name to colour (e.g. @{ heart = '#ff0000' }).</summary>
    protected Dictionary<string, Rgba> ParsedColors()
    {
        var map = new Dictionary<string, Rgba>(StringComparer.OrdinalIgnoreCase);
        if (Color != null)
            foreach (System.Collections.DictionaryEntry e in Color)
                map[e.Key.ToString()!] = Rgba.Parse(e.Value?.ToString() ?? "");
        return map;
    }
}
