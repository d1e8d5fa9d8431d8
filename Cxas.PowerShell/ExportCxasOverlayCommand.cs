using Cxas.Features;
using Cxas.Imaging;
using Cxas.IO;
using Cxas.Rendering;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Draws segmentation overlays: the radiograph with chosen classes filled and outlined, a legend,
    /// and the CTR / SCD construction on request.</para>
    /// <para type="description">Writes one PNG per image, &lt;stem&gt;_overlay.png in -OutputPath, and emits the files written.
    /// The radiograph is read again from the result's Path; when it cannot be read the overlay is drawn on black.</para>
    /// </summary>
    /// <example>
    /// <code>
    /// Invoke-CxasSegmentation ./samples | Export-CxasOverlay -OutputPath ./overlays -Feature CTR
    /// </code>
    /// <para>Draws lung and heart over each radiograph with the CTR construction and its value in the legend.</para>
    /// </example>
    /// <example>
    /// <code>
    /// Invoke-CxasSegmentation ./samples | Export-CxasOverlay ./overlays -Label lung, heart -Color @{ heart = '#ff0000' } -Opacity 0.5 -Force
    /// </code>
    /// <para>Draws the heart in red at half opacity, replacing overlays written before.</para>
    /// </example>

    [Cmdlet(VerbsData.Export, "CxasOverlay", SupportsShouldProcess = true, DefaultParameterSetName = ResultSet)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportCxasOverlayCommand : ResultCmdlet
    {
        /// <summary>Folder for the PNGs (created when missing).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("o")]
        public string OutputPath { get; set; } = "";

        /// <summary>Classes to draw, bottom to top (default: lung, heart).</summary>
        [Parameter]
        [ArgumentCompleter(typeof(LabelCompleter))]
        public string[] Label { get; set; } = { "lung", "heart" };

        /// <summary>Feature constructions to draw: CTR and/or SCD (their values go into the legend).</summary>
        [Parameter]
        [ValidateFeature(FeatureKind.CTR, FeatureKind.SCD)]
        [ArgumentCompleter(typeof(FeatureCompleter))]
        public string[] Feature { get; set; } = Array.Empty<string>();

        /// <summary>Which CTR construction to draw with -Feature CTR: Standard (default), Reference, or both.</summary>
        [Parameter]
        public CtrMethod[] CtrMethod { get; set; } = { Features.CtrMethod.Standard };

        /// <summary>Fill opacity, 0 to 1 (default 0.35).</summary>
        [Parameter]
        [ValidateRange(0.0, 1.0)]
        public double Opacity { get; set; } = 0.35;

        /// <summary>Longest side of the PNG in pixels (default: the image's own size).</summary>
        [Parameter]
        [ValidateRange(16, 65535)]
        public int MaxSize { get; set; }

        /// <summary>Colours by class, e.g. @{ heart = '#ff0000' }.</summary>
        [Parameter]
        public System.Collections.Hashtable? Color { get; set; }

        /// <summary>Leave out the legend (class colours and feature values).</summary>
        [Parameter] public SwitchParameter NoLegend { get; set; }

        /// <summary>Emit the input results (for further cmdlets in the pipeline) instead of the files written.</summary>
        [Parameter] public SwitchParameter PassThru { get; set; }

        private string _folder = "";
        private Dictionary<string, Rgba> _colors = new Dictionary<string, Rgba>(StringComparer.OrdinalIgnoreCase);
        private List<FeatureKind> _features = new List<FeatureKind>();

        protected override void BeginProcessing() => Setup(() =>
        {
            _folder = GetUnresolvedProviderPathFromPSPath(OutputPath);
            if (File.Exists(_folder))
                throw new CxasException(CxasErrorKind.InvalidArgument, $"-OutputPath '{OutputPath}' is a file; give a folder.", _folder);
            _colors = ParseColors(Color);
            _features = ArgumentRules.Features(Feature);
        }, OutputPath);

        protected override void ProcessResult(SegmentationResult result)
        {
            var target = System.IO.Path.Combine(_folder, result.Stem + "_overlay.png");
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
                    AtomicOutput.WriteFile(target, Force, canvas.SavePng);
                    WriteVerbose($"Wrote '{target}'.");
                    if (!PassThru) WriteObject(new FileInfo(target));
                }
            }
            catch (Exception ex) when (ex is CxasException || ex is IOException || ex is UnauthorizedAccessException)
            {
                WriteFileError(ex, result.Path);
            }
            if (PassThru) WriteObject(result);
        }
    }
}
