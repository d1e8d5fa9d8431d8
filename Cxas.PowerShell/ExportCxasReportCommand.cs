using Cxas.Features;
using Cxas.IO;
using Cxas.Rendering;
using Cxas.Reporting;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Export-CxasReport.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsData.Export, "CxasReport", SupportsShouldProcess = true), OutputType(typeof(FileInfo))]
public sealed class ExportCxasReportCommand : DrawingCmdlet
{
    public ExportCxasReportCommand() : base(new[] { "lung", "heart", "right hemidiaphragm", "spine" }, 0.4) { }

    /// <summary>The HTML file to write.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("o")]
    public string OutputPath { get; set; } = "";

    /// <summary>Features for the table (default CTR and SCD); shape features are measured on -FeatureLabel.</summary>
    [Parameter]
    [ValidateFeature]
    [ArgumentCompleter(typeof(FeatureCompleter))]
    public string[] Feature { get; set; } = { "CTR", "SCD" };

    /// <summary>Classes for the shape features (default: -Label).</summary>
    [Parameter]
    [ArgumentCompleter(typeof(LabelCompleter))]
    public string[]? FeatureLabel { get; set; }

    /// <summary>Longest side of the pictures in pixels (default 1024).</summary>
    [Parameter]
    [ValidateRange(64, 8192)]
    public int MaxSize { get; set; } = 1024;

    /// <summary>The report's title (default "Cxas report").</summary>
    [Parameter]
    public string Title { get; set; } = "Cxas report";

    private string _target = "";
    private ReportOptions _options = new ReportOptions();
    private readonly List<ReportItem> _items = new List<ReportItem>();
    private bool _keepExisting;

    protected override void BeginProcessing()
    {
        Setup(() =>
        {
            _target = GetUnresolvedProviderPathFromPSPath(OutputPath);
            if (Directory.Exists(_target))
                throw new CxasException(CxasErrorKind.InvalidArgument, $"-OutputPath '{OutputPath}' is a folder; give the HTML file's path.", _target);
            _options = new ReportOptions
            {
                Labels = Label.ToList(),
                LabelsAreDefaults = !MyInvocation.BoundParameters.ContainsKey(nameof(Label)) && FeatureLabel == null,
                Features = ArgumentRules.Features(Feature),
                CtrMethods = CtrMethod.Distinct().ToList(),
                ShapeLabels = (FeatureLabel ?? Label).ToList(),
                MaxSize = MaxSize,
                FillOpacity = Opacity,
                Colors = ParsedColors(),
            };
        }, OutputPath);
        // An existing report is an error for this file, like every other output (not a stop of the pipeline):
        // results still pass through with -PassThru.
        if (!Force && File.Exists(_target))
        {
            _keepExisting = true;
            if (NoClobber) WriteWarning($"Kept '{_target}': it already exists (-NoClobber).");
            else WriteFileError(new CxasException(CxasErrorKind.AlreadyExists,
                $"'{_target}' already exists (use -Force to overwrite it, or -NoClobber to keep it without an error).", _target), _target);
        }
    }

    protected override void ProcessResult(SegmentationResult result)
    {
        if (!_keepExisting)
        {
            try
            {
                var picture = ResultOverlay.LoadPicture(result, out var problem);
                if (problem != null) WriteWarning(problem);
                _items.Add(ReportItems.Create(result, picture, _options));
            }
            catch (CxasException ex)
            {
                WriteFileError(ex, result.Path);
            }
        }
        if (PassThru) WriteObject(result);
    }

    protected override void Finish()
    {
        if (_keepExisting) return;
        if (_items.Count == 0)
        {
            WriteWarning("No images to report; nothing written.");
            return;
        }
        if (!ShouldProcess(_target, $"Write report of {_items.Count} image(s)")) return;
        try
        {
            AtomicOutput.WriteFile(_target, Force, stream => HtmlReport.Write(stream, _items, Title));
            WriteVerbose($"Wrote '{_target}' ({_items.Count} images).");
            if (!PassThru) WriteFileItem(_target);
        }
        catch (Exception ex) when (ex is CxasException || ex is IOException || ex is UnauthorizedAccessException)
        {
            WriteFileError(ex, _target);
        }
    }
}
