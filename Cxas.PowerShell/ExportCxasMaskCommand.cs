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
    /// <para type="description">Writes png or jpg (one folder per image, one file per class), npy or npz (one bool array
    /// [classes, height, width] per image), dicom-seg (one DICOM Segmentation per DICOM source) or json (one COCO file
    /// for the run). Output names are planned before anything is written (see about_Cxas): inputs never share an output,
    /// outputs an earlier export already wrote are skipped, and every file appears only when complete. With -DicomWebUri
    /// each DICOM-SEG is stored on the server instead (or as well): its UIDs derive from the source instance and the
    /// model, so a rerun stores no duplicate. Emits one record per file, folder or stored SEG.</para>
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

    [Cmdlet(VerbsData.Export, "CxasMask", SupportsShouldProcess = true, DefaultParameterSetName = ResultSet)]
    [OutputType(typeof(MaskExportRecord))]
    public sealed class ExportCxasMaskCommand : ResultCmdlet, IDisposable
    {
        /// <summary>The output folder; optional when storing to a DICOMweb server (-DicomWebUri), where it adds a local copy.</summary>
        [Parameter(Position = 0)]
        [Alias("o")]
        public string? OutputPath { get; set; }

        /// <summary>Mask formats: png (default), jpg, npy, npz, json (COCO), dicom-seg; several at once are fine.</summary>
        [Parameter]
        [Alias("ot", "OutputType")]
        [ValidateSet("png", "jpg", "npy", "npz", "json", "dicom-seg", IgnoreCase = true)]
        public string[] Format { get; set; } = { "png" };

        /// <summary>Classes to write (default: all), in the order given.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(LabelCompleter))]
        public string[]? Label { get; set; }

        /// <summary>Write every output again, replacing this run's planned outputs that exist; with -DicomWebUri, store a SEG again that the server already holds.</summary>
        [Parameter] public SwitchParameter Force { get; set; }

        /// <summary>Skip outputs that exist (with a warning) instead of reporting an error.</summary>
        [Parameter] public SwitchParameter NoClobber { get; set; }

        /// <summary>A DICOMweb root to store each result's DICOM-SEG in (STOW-RS), next to its source study.</summary>
        [Parameter] public string? DicomWebUri { get; set; }

        /// <summary>User name and password for the DICOMweb server (HTTP Basic); refused over plain http unless -AllowUnencryptedAuthentication.</summary>
        [Parameter] [Credential] public PSCredential? Credential { get; set; }
        /// <summary>A bearer token for the DICOMweb server, as a SecureString; never shown in output or errors.</summary>
        [Parameter] public SecureString? Token { get; set; }
        /// <summary>Accept any TLS certificate from the server (for test servers only; certificates are verified by default).</summary>
        [Parameter] public SwitchParameter SkipCertificateCheck { get; set; }
        /// <summary>Allow -Credential or -Token over plain http (as Invoke-RestMethod does).</summary>
        [Parameter] public SwitchParameter AllowUnencryptedAuthentication { get; set; }

        /// <summary>Retries of a request after 429, 502, 503, 504, a dropped connection or a timeout (exponential backoff, honouring Retry-After; default 3).</summary>
        [Parameter]
        [ValidateRange(0, 10)]
        public int MaximumRetryCount { get; set; } = 3;

        /// <summary>Seconds a request may take before it is abandoned (and retried; default 120).</summary>
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
            foreach (var result in PipelineResults())
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
