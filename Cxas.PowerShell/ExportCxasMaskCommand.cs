using System;
using System.Management.Automation;
using Cxas.Export;
using Cxas.Segmentation;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Writes the masks of segmentation results to files in the reference's layouts.</para>
    /// </summary>
    [Cmdlet(VerbsData.Export, "CxasMask", SupportsShouldProcess = true)]
    [OutputType(typeof(MaskExportRecord))]
    public sealed class ExportCxasMaskCommand : CxasCmdlet, IDisposable
    {
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        public SegmentationResult[] InputObject { get; set; } = Array.Empty<SegmentationResult>();

        [Parameter(Mandatory = true, Position = 0)]
        [Alias("o")]
        public string OutputPath { get; set; } = "";

        [Parameter]
        [Alias("ot", "OutputType")]
        [ValidateSet("png", "jpg", "npy", "npz", "json", "dicom-seg", IgnoreCase = true)]
        public string[] Format { get; set; } = { "png" };

        /// <summary>Classes to write (default: all), in the order given.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(LabelCompleter))]
        public string[]? Label { get; set; }

        [Parameter] public SwitchParameter Force { get; set; }

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
