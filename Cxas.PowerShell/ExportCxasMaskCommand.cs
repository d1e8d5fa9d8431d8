using System;
using System.Linq;
using System.Management.Automation;
using System.Security;
using Cxas.DicomWeb;
using Cxas.Export;
using Cxas.Segmentation;

namespace Cxas.PowerShell
{
    /// <summary>
    /// <para type="synopsis">Writes the masks of segmentation results to files in the reference's layouts, or stores their
    /// DICOM-SEG on a DICOMweb server (STOW-RS).</para>
    /// </summary>
    [Cmdlet(VerbsData.Export, "CxasMask", SupportsShouldProcess = true)]
    [OutputType(typeof(MaskExportRecord))]
    public sealed class ExportCxasMaskCommand : CxasCmdlet, IDisposable
    {
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        public SegmentationResult[] InputObject { get; set; } = Array.Empty<SegmentationResult>();

        /// <summary>The output folder; optional when storing to a DICOMweb server (-DicomWebUri), where it adds a local copy.</summary>
        [Parameter(Position = 0)]
        [Alias("o")]
        public string? OutputPath { get; set; }

        [Parameter]
        [Alias("ot", "OutputType")]
        [ValidateSet("png", "jpg", "npy", "npz", "json", "dicom-seg", IgnoreCase = true)]
        public string[] Format { get; set; } = { "png" };

        /// <summary>Classes to write (default: all), in the order given.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(LabelCompleter))]
        public string[]? Label { get; set; }

        /// <summary>Overwrite existing outputs; with -DicomWebUri, store a SEG again that the server already holds.</summary>
        [Parameter] public SwitchParameter Force { get; set; }

        [Parameter] public SwitchParameter NoClobber { get; set; }

        /// <summary>A DICOMweb root to store each result's DICOM-SEG in (STOW-RS), next to its source study.</summary>
        [Parameter] public string? DicomWebUri { get; set; }

        [Parameter] [Credential] public PSCredential? Credential { get; set; }
        [Parameter] public SecureString? Token { get; set; }
        [Parameter] public SwitchParameter SkipCertificateCheck { get; set; }
        [Parameter] public SwitchParameter AllowUnencryptedAuthentication { get; set; }

        [Parameter]
        [ValidateRange(0, 10)]
        public int MaximumRetryCount { get; set; } = 3;

        [Parameter]
        [ValidateRange(1, 3600)]
        public int TimeoutSec { get; set; } = 120;

        private MaskOutputSet? _outputs;
        private DicomSegStore? _store;
        private ProgressTracker? _progress;
        private int _stored, _existing;

        protected override void BeginProcessing()
        {
            bool formatGiven = MyInvocation.BoundParameters.ContainsKey(nameof(Format));
            if (DicomWebUri != null)
            {
                if (!formatGiven) Format = new[] { "dicom-seg" };
                if (!Format.Any(f => MaskExporter.ParseFormat(f) == MaskFormat.DicomSeg))
                    ThrowTerminatingError(ToErrorRecord(new CxasException(CxasErrorKind.InvalidArgument,
                        "-DicomWebUri stores DICOM Segmentations: add dicom-seg to -Format."), DicomWebUri));
                _store = new DicomSegStore(DicomWebConnection.Open(this, DicomWebUri, Credential, Token, SkipCertificateCheck,
                    AllowUnencryptedAuthentication, MaximumRetryCount, TimeoutSec), Force && !NoClobber);
            }
            else if (string.IsNullOrEmpty(OutputPath))
            {
                ThrowTerminatingError(ToErrorRecord(new CxasException(CxasErrorKind.InvalidArgument,
                    "Give -OutputPath (a folder), -DicomWebUri (a DICOMweb server), or both."), null));
            }
            if (!string.IsNullOrEmpty(OutputPath))
            {
                try
                {
                    _outputs = new MaskOutputSet(this, GetUnresolvedProviderPathFromPSPath(OutputPath), Format, Force, NoClobber, Label);
                }
                catch (CxasException ex)
                {
                    ThrowTerminatingError(ToErrorRecord(ex, OutputPath));
                }
            }
            else if (Format.Any(f => MaskExporter.ParseFormat(f) != MaskFormat.DicomSeg))
            {
                ThrowTerminatingError(ToErrorRecord(new CxasException(CxasErrorKind.InvalidArgument,
                    "Formats other than dicom-seg are written to files: add -OutputPath."), DicomWebUri));
            }
            _progress = new ProgressTracker(this, _store != null ? "Export-CxasMask (storing DICOM-SEG)" : "Export-CxasMask", 2);
        }

        protected override void ProcessRecord()
        {
            foreach (var result in InputObject)
            {
                if (result == null) continue;
                _progress!.Step(result.Path);
                if (_outputs != null)
                    foreach (var record in _outputs.Write(result)) WriteObject(record);
                if (_store != null) Store(result);
            }
        }

        private void Store(SegmentationResult result)
        {
            var target = _store!.Client.Root.ToString();
            if (!ShouldProcess(target, $"Store the DICOM-SEG of {result.Path}")) return;
            try
            {
                var record = _store.Store(result, MaskExporter.ClassesFor(result.Masks, Label));
                DicomWebConnection.Flush(this);
                foreach (var warning in _store.Warnings) WriteWarning($"The server stored the DICOM-SEG of '{result.Path}' with a warning: {warning}.");
                if (record.Status == "Exists")
                {
                    _existing++;
                    WriteVerbose($"'{record.OutputPath}' is already on the server (use -Force to store it again).");
                }
                else
                {
                    _stored++;
                    WriteVerbose($"Stored '{record.OutputPath}'.");
                }
                WriteObject(record);
            }
            catch (CxasException ex) when (ex.Kind == CxasErrorKind.Unauthorized)
            {
                DicomWebConnection.Flush(this);
                ThrowTerminatingError(ToErrorRecord(ex, result.Path));
            }
            catch (CxasException ex)
            {
                DicomWebConnection.Flush(this);
                // The message names the request; the record's target is the source instance.
                WriteError(ToErrorRecord(new CxasException(ex.Kind, $"Storing the DICOM-SEG of '{result.Path}' failed: {ex.Message}", result.Path, ex), result.Path));
            }
        }

        protected override void EndProcessing()
        {
            if (_outputs != null)
                foreach (var record in _outputs.Complete()) WriteObject(record);
            if (_store != null) WriteVerbose($"Stored {_stored} DICOM-SEG object(s); {_existing} were already on the server.");
            _progress?.Complete();
        }

        public void Dispose()
        {
            _outputs?.Dispose();
            _store?.Client.Dispose();
        }
    }
}
