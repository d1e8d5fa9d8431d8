using System;
using System.Management.Automation;
using Cxas.Export;
using Cxas.Segmentation;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Writes the masks of segmentation results to files in the reference's layouts.</para>
    /// <para type="description">Writes png or jpg (one folder per image, one file per class), npy or npz (one bool array
    /// [classes, height, width] per image), dicom-seg (one DICOM Segmentation per DICOM source) or json (one COCO file
    /// for the run). Output names are planned before anything is written (see about_Cxas): inputs never share an output,
    /// outputs an earlier export already wrote are skipped, and every file appears only when complete. Emits one record
    /// per file or folder written.</para>
    /// </summary>
    /// <example>
    /// <code>
    /// Invoke-CxasSegmentation ./samples | Export-CxasMask -OutputPath ./masks -Format npz
    /// </code>
    /// <para>Segments the sample radiographs and writes one compressed mask array per image.</para>
    /// </example>
    /// <example>
    /// <code>
    /// Invoke-CxasSegmentation ./samples | Export-CxasMask ./masks -Format png -Label heart, lung
    /// </code>
    /// <para>Writes only the heart and lung masks, one 1-bit PNG each, into a folder per image.</para>
    /// </example>

    [Cmdlet(VerbsData.Export, "CxasMask", SupportsShouldProcess = true)]
    [OutputType(typeof(MaskExportRecord))]
    public sealed class ExportCxasMaskCommand : CxasCmdlet, IDisposable
    {
        /// <summary>Segmentation results, from Invoke-CxasSegmentation.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        public SegmentationResult[] InputObject { get; set; } = Array.Empty<SegmentationResult>();

        /// <summary>The output folder (created when missing).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Alias("o")]
        public string OutputPath { get; set; } = "";

        /// <summary>Mask formats: png (default), jpg, npy, npz, json (COCO), dicom-seg; several at once are fine.</summary>
        [Parameter]
        [Alias("ot", "OutputType")]
        [ValidateSet("png", "jpg", "npy", "npz", "json", "dicom-seg", IgnoreCase = true)]
        public string[] Format { get; set; } = { "png" };

        /// <summary>Classes to write (default: all), in the order given.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(LabelCompleter))]
        public string[]? Label { get; set; }

        /// <summary>Write every output again, replacing this run's planned outputs that exist.</summary>
        [Parameter] public SwitchParameter Force { get; set; }

        /// <summary>Skip outputs that exist (with a warning) instead of reporting an error.</summary>
        [Parameter] public SwitchParameter NoClobber { get; set; }

        private MaskOutputSet? _outputs;
        private ProgressTracker? _progress;

        protected override void BeginProcessing()
        {
            try
            {
                _outputs = new MaskOutputSet(this, GetUnresolvedProviderPathFromPSPath(OutputPath), Format, Force, NoClobber, Label);
            }
            catch (CxasException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, OutputPath));
            }
            _progress = new ProgressTracker(this, "Export-CxasMask", 2);
        }

        protected override void ProcessRecord()
        {
            foreach (var result in InputObject)
            {
                if (result == null) continue;
                _progress!.Step(result.Path);
                foreach (var record in _outputs!.Write(result)) WriteObject(record);
            }
        }

        protected override void EndProcessing()
        {
            foreach (var record in _outputs!.Complete()) WriteObject(record);
            _progress?.Complete();
        }

        public void Dispose() => _outputs?.Dispose();
    }
}
