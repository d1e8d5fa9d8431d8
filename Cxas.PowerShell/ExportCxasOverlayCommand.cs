using Cxas.Features;
using Cxas.Imaging;
using Cxas.IO;
using Cxas.Rendering;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Export-CxasOverlay.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsData.Export, "CxasOverlay", SupportsShouldProcess = true), OutputType(typeof(FileInfo))]
public sealed class ExportCxasOverlayCommand : DrawingCmdlet
{
    public ExportCxasOverlayCommand() : base(new[] { "lung", "heart" }, 0.35) { }

    /// <summary>Folder for the PNGs or DICOM files (created when missing).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("o")]
    public string OutputPath { get; set; } = "";

    /// <summary>Feature constructions to draw: CTR and/or SCD (their values go into the legend).</summary>
    [Parameter]
    [ValidateFeature(FeatureKind.CTR, FeatureKind.SCD)]
    [ArgumentCompleter(typeof(FeatureCompleter))]
    public string[] Feature { get; set; } = Array.Empty<string>();

    /// <summary>Longest side of the PNG in pixels (default: the image's own size).</summary>
    [Parameter]
    [ValidateRange(16, 65535)]
    public int MaxSize { get; set; }

    /// <summary>Leave out the legend (class colours and feature values).</summary>
    [Parameter] public SwitchParameter NoLegend { get; set; }

    /// <summary>
    /// png (default), or dicom: a Secondary Capture image in the source's study (new series, derived UIDs, burned-in
    /// annotation flagged, "NOT FOR DIAGNOSTIC USE" in the image and the header), for PACS viewers that do not show DICOM-SEG.
    /// </summary>
    [Parameter]
    [ValidateSet("png", "dicom")]
    public string Format { get; set; } = "png";

    private string _folder = "";
    private Dictionary<string, Rgba> _colors = new Dictionary<string, Rgba>(StringComparer.OrdinalIgnoreCase);
    private List<FeatureKind> _features = new List<FeatureKind>();

    protected override void BeginProcessing() => Setup(() =>
    {
        _folder = GetUnresolvedProviderPathFromPSPath(OutputPath);
        if (File.Exists(_folder))
            throw new CxasException(CxasErrorKind.InvalidArgument, $"-OutputPath '{OutputPath}' is a file; give a folder.", _folder);
        _colors = ParsedColors();
        _features = ArgumentRules.Features(Feature);
    }, OutputPath);

    protected override void ProcessResult(SegmentationResult result)
    {
        bool dicom = string.Equals(Format, "dicom", StringComparison.OrdinalIgnoreCase);
        var target = System.IO.Path.Combine(_folder, result.Stem + (dicom ? "_overlay.dcm" : "_overlay.png"));
        try
        {
            if (!Force && File.Exists(target))
            {
                if (!NoClobber)
                    throw new CxasException(CxasErrorKind.AlreadyExists, $"'{target}' already exists (use -Force to overwrite it, or -NoClobber to keep it).", target);
                WriteWarning($"Kept '{target}': it already exists (-NoClobber).");
            }
            else if (ShouldProcess(target, $"Write overlay of {result.FileName}"))
            {
                var picture = ResultOverlay.LoadPicture(result, out var problem);
                if (problem != null) WriteWarning(problem);
                var options = new OverlayOptions
                {
                    Labels = Label,
                    FillOpacity = Opacity,
                    MaxSize = MaxSize > 0 ? MaxSize : (int?)null,
                    Legend = !NoLegend,
                    Colors = _colors,
                };
                var canvas = ResultOverlay.Render(result, picture, options, _features, CtrMethod);
                if (dicom)
                {
                    var bytes = Cxas.Dicom.Seg.OverlayCapture.Build(result, canvas, DateTime.Now, out _);
                    AtomicOutput.WriteFile(target, Force, stream => stream.Write(bytes, 0, bytes.Length));
                }
                else AtomicOutput.WriteFile(target, Force, canvas.SavePng);
                WriteVerbose($"Wrote '{target}'.");
                if (!PassThru) WriteFileItem(target);
            }
        }
        catch (Exception ex) when (ex is CxasException || ex is IOException || ex is UnauthorizedAccessException)
        {
            WriteFileError(ex, result.Path);
        }
        if (PassThru) WriteObject(result);
    }
}
