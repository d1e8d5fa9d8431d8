using Cxas.DicomWeb;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Invoke-CxasSegmentation.xml" path="doc/cmdlet/*" />
// Results are the default set so that a deserialized result (from a remote session) is converted to one before
// PowerShell would turn it into a path string; paths, files and instances still bind by their own types.
[Cmdlet(VerbsLifecycle.Invoke, "CxasSegmentation", DefaultParameterSetName = ResultSet, SupportsShouldProcess = true), OutputType(typeof(SegmentationResult))]
public sealed class InvokeCxasSegmentationCommand : FileInputCmdlet
{
    private const string InstanceSet = "Instance";

    /// <summary>Image files or folders; wildcards allowed; from the pipeline by value (strings).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [Alias("i", "Input")]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>DICOMweb instances from Find-CxasDicomInstance: each is retrieved (WADO-RS) while the one before is segmented.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InstanceSet)]
    public DicomInstance[] InputObject { get; set; } = Array.Empty<DicomInstance>();

    /// <summary>Earlier results (also from a job or a remote session): their images are segmented again, e.g. with another -Model.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ResultSet)]
    public SegmentationResult[] Result { get; set; } = Array.Empty<SegmentationResult>();

    protected override string[] PathArgument => Path;

    protected override void BeginProcessing() => StartSegmentation();

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case InstanceSet: Segment(Instances()); break;
            case ResultSet: Segment(EarlierImages()); break;
            default: Segment(RecordFiles()); break;
        }
    }

    protected override void EndProcessing() => FinishSegmentation();

    protected override void OnSegmented(SegmentationResult result, PSObject? fromNode) => WriteObject(fromNode ?? (object)result);

    private IEnumerable<Imaging.InputFile> Instances()
    {
        foreach (var instance in InputObject)
        {
            if (instance == null) continue;
            Imaging.InputFile input;
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
