using Cxas.DicomWeb;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Invoke-CxasSegmentation.xml" path="doc/cmdlet/*" />
// Path is the default set (a bare Invoke-CxasSegmentation asks for -Path). PowerShell tries the default set first when it
// converts pipeline input, so -Path refuses what is not a path (see NotAResultAttribute): a deserialized result (from a
// job or a remote session) then falls through to -Result, which converts it, instead of becoming a path string.
[Cmdlet(VerbsLifecycle.Invoke, "CxasSegmentation", DefaultParameterSetName = PathSet, SupportsShouldProcess = true), OutputType(typeof(SegmentationResult))]
public sealed class InvokeCxasSegmentationCommand : FileInputCmdlet
{
    private const string InstanceSet = "Instance";

    /// <summary>Image files or folders; wildcards allowed; from the pipeline by value (strings).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [Alias("i", "Input")]
    [SupportsWildcards]
    [PathNotResult]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>DICOMweb instances from Find-CxasDicomInstance: each is retrieved (WADO-RS) while the one before is segmented.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InstanceSet)]
    public DicomInstance[] InputObject { get; set; } = Array.Empty<DicomInstance>();

    /// <summary>Earlier results (also from a job or a remote session): their images are segmented again, e.g. with another -Model.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ResultSet)]
    public SegmentationResult[] Result { get; set; } = Array.Empty<SegmentationResult>();

    protected override string[] PathArgument => Path;

    protected override void BeginProcessing()
    {
        if (!ForJob()) StartSegmentation();
    }

    protected override void ProcessRecord()
    {
        if (ForJob(RecordInput)) return;
        switch (ParameterSetName)
        {
            case InstanceSet: Segment(Instances()); break;
            case ResultSet: Segment(EarlierImages()); break;
            default: Segment(RecordFiles()); break;
        }
    }

    protected override void EndProcessing()
    {
        if (ForJob()) StartJob();
        else FinishSegmentation();
    }

    private void RecordInput(JobRequest job)
    {
        switch (ParameterSetName)
        {
            case InstanceSet: foreach (var i in InputObject) job.AddObject(i); break;
            case ResultSet: foreach (var r in Result) job.AddObject(r); break;
            default: RecordFileInput(job); break;
        }
    }

    protected override void OnSegmented(SegmentationResult result, PSObject? fromNode) => WriteObject(fromNode ?? (object)result);

    private IEnumerable<Imaging.InputFile> Instances()
    {
        foreach (var instance in InputObject)
        {
            if (instance == null) continue;
            Imaging.InputFile input;
            // The instance is retrieved through the client that found it: its messages are written here.
            WatchDicomWeb(instance.Client);
            try { input = instance.ToInput(); }
            catch (CxasException ex)
            {
                WriteFileError(ex, instance.Uri);
                continue;
            }
            yield return input;
        }
    }

    private IEnumerable<Imaging.InputFile> EarlierImages()
    {
        foreach (var earlier in Result)
        {
            if (earlier == null) continue;
            if (!System.IO.File.Exists(earlier.Path))
            {
                WriteFileError(new CxasException(CxasErrorKind.NotFound,
                    $"Cannot segment '{earlier.Path}' again: it is not a file here (a PACS instance is found again with Find-CxasDicomInstance).", earlier.Path), earlier.Path);
                continue;
            }
            yield return new Imaging.InputFile(earlier.Path, earlier.Source.RelativePath);
        }
    }
}
