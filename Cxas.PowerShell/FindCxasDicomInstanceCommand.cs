using System.Security;
using Cxas.DicomWeb;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Find-CxasDicomInstance.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsCommon.Find, "CxasDicomInstance"), OutputType(typeof(DicomInstance))]
public sealed class FindCxasDicomInstanceCommand : CxasCmdlet, IDynamicParameters
{
    /// <summary>The DICOMweb root, e.g. https://pacs/dicom-web (or give -ComputerName and -CalledAETitle to search by DIMSE C-FIND).</summary>
    [Parameter(Position = 0)]
    public string Uri { get; set; } = "";

    /// <summary>Only instances of this study.</summary>
    [Parameter] public string? StudyInstanceUid { get; set; }
    /// <summary>Only instances of this series.</summary>
    [Parameter] public string? SeriesInstanceUid { get; set; }
    /// <summary>Only instances of this patient (the Patient ID as the server stores it).</summary>
    [Parameter] public string? PatientId { get; set; }

    /// <summary>Modalities (e.g. CR, DX); instances of any of them.</summary>
    [Parameter] public string[]? Modality { get; set; }

    /// <summary>yyyyMMdd or yyyyMMdd-yyyyMMdd.</summary>
    [Parameter]
    [ValidatePattern(@"^\d{8}(-\d{8})?$")]
    public string? StudyDate { get; set; }

    /// <summary>Most instances to emit (default: all).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Limit { get; set; }

    /// <summary>Also emit instances that are not images (structured reports, presentation states, segmentations...).</summary>
    [Parameter] public SwitchParameter IncludeNonImage { get; set; }

    private readonly DicomWebParameters _connection = new DicomWebParameters();

    /// <summary>The DICOMweb connection parameters (-Credential, -Token, -SkipCertificateCheck, ...; see <see cref="DicomWebParameters"/>)
    /// and the DIMSE ones (-ComputerName, -Port, -CalledAETitle, -CallingAETitle; see <see cref="DimseParameters"/>).</summary>
    public object GetDynamicParameters() => _connection;

    protected override void EndProcessing()
    {
        var query = new DicomWebQuery
        {
            StudyInstanceUid = StudyInstanceUid, SeriesInstanceUid = SeriesInstanceUid, PatientId = PatientId,
            Modality = Modality, StudyDate = StudyDate, Limit = Limit, IncludeNonImage = IncludeNonImage,
        };
        if (_connection.UsesDimse == !string.IsNullOrEmpty(Uri))
            ThrowTerminatingError(ToErrorRecord(new CxasException(CxasErrorKind.InvalidArgument,
                "Give exactly one of -Uri (a DICOMweb server) and -ComputerName with -CalledAETitle (a DICOM node)."), Uri));
        IEnumerable<DicomInstance> search;
        if (_connection.UsesDimse)
        {
            var dimse = _connection.OpenDimse(this);
            WriteVerbose($"Searching {dimse.Peer} for instances (C-FIND).");
            search = dimse.Search(query);
        }
        else
        {
            var client = _connection.Open(this, Uri);
            WriteVerbose($"Searching {client.Root} for instances.");
            search = client.Search(query);
        }
        var progress = new ProgressTracker(this, "Find-CxasDicomInstance");
        int found = 0;
        try
        {
            foreach (var instance in search)
            {
                DicomWebParameters.Flush(this);
                found++;
                progress.Step($"found {instance.SopInstanceUid}");
                WriteObject(instance);
            }
        }
        catch (CxasException ex)
        {
            DicomWebParameters.Flush(this);
            ThrowTerminatingError(ToErrorRecord(ex, _connection.UsesDimse ? _connection.ComputerName : Uri));
        }
        DicomWebParameters.Flush(this);
        progress.Complete();
        WriteVerbose($"Found {found} instance(s).");
    }
}
