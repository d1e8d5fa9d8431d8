using System.Security;
using Cxas.DicomWeb;
using Cxas.Export;
using Cxas.Runs;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Export-CxasMask.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsData.Export, "CxasMask", SupportsShouldProcess = true), OutputType(typeof(MaskExportRecord))]
public sealed class ExportCxasMaskCommand : ResultCmdlet, IDynamicParameters, IDisposable
{
    /// <summary>The output folder; optional when storing on a PACS (-DicomWebUri or -ComputerName), where it adds a local copy.</summary>
    [Parameter(Position = 0)]
    [Alias("o")]
    public string? OutputPath { get; set; }

    /// <summary>Mask formats: png (default), jpg, npy, npz, json (COCO), dicom-seg; several at once are fine.</summary>
    [Parameter]
    [Alias("ot", "OutputType")]
    [ValidateMaskFormat]
    [ArgumentCompleter(typeof(MaskFormatCompleter))]
    public string[] Format { get; set; } = { "png" };

    /// <summary>Classes to write (default: all), in the order given.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(LabelCompleter))]
    public string[]? Label { get; set; }

    /// <summary>A DICOMweb root to store each result's DICOM-SEG in (STOW-RS), next to its source study.</summary>
    [Parameter] public string? DicomWebUri { get; set; }

    private readonly DicomWebParameters _connection = new DicomWebParameters();

    /// <summary>The DICOMweb connection parameters (-Credential, -Token, -SkipCertificateCheck, ...; see <see cref="DicomWebParameters"/>)
    /// and the DIMSE ones (-ComputerName, -Port, -CalledAETitle, -CallingAETitle: store by C-STORE; see <see cref="DimseParameters"/>).</summary>
    public object GetDynamicParameters() => _connection;

    private MaskOutputs? _outputs;
    private ISegStore? _store;
    private int _stored, _existing;

    protected override void BeginProcessing() => Setup(() =>
    {
        bool formatGiven = MyInvocation.BoundParameters.ContainsKey(nameof(Format));
        if (DicomWebUri != null && _connection.UsesDimse)
            throw new CxasException(CxasErrorKind.InvalidArgument, "Give -DicomWebUri (a DICOMweb server) or -ComputerName (a DICOM node), not both.");
        if (DicomWebUri != null || _connection.UsesDimse)
        {
            if (!formatGiven) Format = new[] { "dicom-seg" };
            if (!Format.Any(f => CxasCmdlet.Configuration.Writers.ParseFormat(f) == MaskFormat.DicomSeg))
                throw new CxasException(CxasErrorKind.InvalidArgument, "Storing on a PACS stores DICOM Segmentations: add dicom-seg to -Format.");
            _store = DicomWebUri != null
                ? new DicomSegStore(_connection.Open(this, DicomWebUri), Force && !NoClobber)
                : new Cxas.Dimse.DimseSegStore(_connection.OpenDimse(this), Force && !NoClobber);
        }
        else if (string.IsNullOrEmpty(OutputPath))
        {
            throw new CxasException(CxasErrorKind.InvalidArgument, "Give -OutputPath (a folder), -DicomWebUri (a DICOMweb server) or -ComputerName (a DICOM node), or a folder and a server.");
        }
        if (!string.IsNullOrEmpty(OutputPath))
            _outputs = new MaskOutputs(GetUnresolvedProviderPathFromPSPath(OutputPath), Format.Select(CxasCmdlet.Configuration.Writers.ParseFormat),
                FileSegmentationRun.WritePolicyOf(Force, NoClobber), Label, new CmdletRunHost(this, null), resume: false);
        else if (Format.Any(f => CxasCmdlet.Configuration.Writers.ParseFormat(f) != MaskFormat.DicomSeg))
            throw new CxasException(CxasErrorKind.InvalidArgument, "Formats other than dicom-seg are written to files: add -OutputPath.");
    }, OutputPath ?? DicomWebUri ?? _connection.ComputerName);

    protected override string ProgressActivity => _store != null ? "Export-CxasMask (storing DICOM-SEG)" : "Export-CxasMask";

    protected override void ProcessResult(SegmentationResult result)
    {
        if (_outputs != null)
            foreach (var record in _outputs.Write(result)) WriteObject(record);
        if (_store != null) Store(result);
    }

    private void Store(SegmentationResult result)
    {
        var target = _store!.Target;
        if (!ShouldProcess(target, $"Store the DICOM-SEG of {result.Path}")) return;
        try
        {
            var record = SegSink.Send(result, MaskExporter.ClassesFor(result.Masks, Label), _store);
            FlushDicomWebMessages();
            foreach (var warning in _store.Warnings) WriteWarning($"The server stored the DICOM-SEG of '{result.Path}' with a warning: {warning}.");
            if (record.Status == OutputStatus.Exists)
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
            FlushDicomWebMessages();
            ThrowTerminatingError(ToErrorRecord(ex, result.Path));
        }
        catch (CxasException ex)
        {
            FlushDicomWebMessages();
            // The message names the request; the record's target is the source instance.
            WriteError(ToErrorRecord(new CxasException(ex.Kind, $"Storing the DICOM-SEG of '{result.Path}' failed: {ex.Message}", result.Path, ex), result.Path));
        }
    }

    protected override void Finish()
    {
        if (_outputs != null)
            foreach (var record in _outputs.Complete()) WriteObject(record);
        if (_store != null) WriteVerbose($"Stored {_stored} DICOM-SEG object(s); {_existing} were already on the server.");
    }

    public void Dispose()
    {
        _outputs?.Dispose();
        _store?.Dispose();
    }
}
