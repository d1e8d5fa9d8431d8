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

    /// <summary>
    /// With -ComputerName: the found instances are retrieved by C-MOVE to Cxas' own storage SCP, which the node knows by
    /// this AE title, instead of C-GET (for a PACS that allows only C-MOVE).
    /// </summary>
    [Parameter] public string? MoveDestination { get; set; }

    /// <summary>The port of Cxas' storage SCP for -MoveDestination (default 11113), as the node's entry for that AE title names it.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int MovePort { get; set; } = 11113;

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
        if (MoveDestination != null && !_connection.UsesDimse)
            ThrowTerminatingError(ToErrorRecord(new CxasException(CxasErrorKind.InvalidArgument,
                "-MoveDestination retrieves from a DICOM node by C-MOVE: give -ComputerName and -CalledAETitle too."), MoveDestination));
        IEnumerable<DicomInstance> search;
        if (_connection.UsesDimse)
        {
            var dimse = _connection.OpenDimse(this);
            if (MoveDestination != null)
            {
                try { dimse.RetrieveByMove(MoveListeners.For(MoveDestination, MovePort), MoveDestination); }
                catch (CxasException ex) { ThrowTerminatingError(ToErrorRecord(ex, MoveDestination)); }
                WriteVerbose($"Instances are retrieved by C-MOVE to {MoveDestination} (port {MovePort}).");
            }
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
                FlushDicomWebMessages();
                found++;
                progress.Step($"found {instance.SopInstanceUid}");
                WriteObject(instance);
            }
        }
        catch (CxasException ex)
        {
            FlushDicomWebMessages();
            ThrowTerminatingError(ToErrorRecord(ex, _connection.UsesDimse ? _connection.ComputerName : Uri));
        }
        FlushDicomWebMessages();
        progress.Complete();
        WriteVerbose($"Found {found} instance(s).");
    }
}

/// <summary>
/// Cxas' storage SCPs for C-MOVE retrieval, one per AE title and port, started on first use and kept for the session:
/// the instances a search emits are retrieved later (while Invoke-CxasSegmentation runs), so the listener must outlive
/// the search. They spool into a new temporary folder and deliver each instance to the retrieval waiting for it, which
/// reads and deletes it; when the process exits they stop, and each deletes what it wrote and is still there (instances
/// the peer sent unasked, a run stopped mid-way) with its folder: no patient image stays in the temporary folder.
/// One per process, because a listening port is.
/// </summary>
internal static class MoveListeners
{
    private static readonly Dictionary<(string, int), Cxas.Dimse.DimseStorageScp> Open = new Dictionary<(string, int), Cxas.Dimse.DimseStorageScp>();

    public static Cxas.Dimse.DimseStorageScp For(string aeTitle, int port)
    {
        lock (Open)
        {
            if (Open.TryGetValue((aeTitle, port), out var scp)) return scp;
            var spool = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cxas-move-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            scp = new Cxas.Dimse.DimseStorageScp(new Cxas.Dimse.StorageScpOptions { Port = port, AeTitle = aeTitle, SpoolDirectory = spool, TemporarySpool = true });
            scp.Start();
            if (Open.Count == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAll();
            Open[(aeTitle, port)] = scp;
            return scp;
        }
    }

    /// <summary>Stops every listener; each removes its temporary spool.</summary>
    internal static void StopAll()
    {
        lock (Open)
        {
            foreach (var scp in Open.Values) scp.Stop();
            Open.Clear();
        }
    }
}
