
namespace Cxas.PowerShell;

/// <summary>
/// The base of cmdlets that take segmentation results from the pipeline and write something from them
/// (Export-CxasMask, Export-CxasOverlay, Export-CxasReport). In the order of a run:
/// <list type="number">
/// <item>setup (<see cref="Setup"/>): a bad argument or an output that cannot be made stops the command at once;</item>
/// <item>each result (<see cref="ProcessResult"/>), with progress: results bind to -InputObject, also when they crossed
/// a job or remoting boundary (see <see cref="ResultTransferConverter"/>). Anything else piped in (files, folders,
/// paths) binds to a hidden catch-all and gets one clear error per object saying what to do, instead of PowerShell's
/// generic InputObjectNotBound; a deserialized result that lands there is converted and processed like any other;</item>
/// <item>the end (<see cref="Finish"/>).</item>
/// </list>
/// -Force and -NoClobber mean the same everywhere: replace what exists, or keep it with a warning instead of an error.
/// </summary>
public abstract class ResultCmdlet : CxasCmdlet
{
    internal const string ResultSet = "Result";
    private const string OtherSet = "Other";

    /// <summary>Segmentation results, from Invoke-CxasSegmentation (also from a job or a remote session).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ResultSet)]
    public SegmentationResult[] InputObject { get; set; } = Array.Empty<SegmentationResult>();

    /// <summary>Replace outputs that exist (with Export-CxasMask -DicomWebUri also a SEG the server already holds).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    /// <summary>Keep outputs that exist (with a warning) instead of reporting an error.</summary>
    [Parameter] public SwitchParameter NoClobber { get; set; }

    private ProgressTracker? _progress;

    /// <summary>The progress activity (default: the cmdlet's name).</summary>
    protected virtual string ProgressActivity => MyInvocation.MyCommand.Name;

    /// <summary>Runs the cmdlet's setup; a CxasException there is a terminating error naming <paramref name="target"/>.</summary>
    protected void Setup(Action body, object? target)
    {
        try { body(); }
        catch (CxasException ex) { ThrowTerminatingError(ToErrorRecord(ex, target)); }
    }

    /// <summary>One result of the pipeline.</summary>
    protected abstract void ProcessResult(SegmentationResult result);

    /// <summary>After the last result.</summary>
    protected virtual void Finish() { }

    protected sealed override void ProcessRecord()
    {
        _progress ??= new ProgressTracker(this, ProgressActivity);
        foreach (var result in PipelineResults())
        {
            _progress.Step(result.Path);
            ProcessResult(result);
        }
    }

    protected sealed override void EndProcessing()
    {
        _progress?.Complete();
        Finish();
    }

    /// <summary>Anything piped in that is not a segmentation result; it is refused with an explanation.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = OtherSet, DontShow = true)]
    public object[] NotAResult { get; set; } = Array.Empty<object>();

    /// <summary>
    /// The results of this pipeline record: those bound to -InputObject, and deserialized results that bound to the
    /// catch-all (remote sessions deserialize without the module's type data, so PowerShell binds them as plain objects
    /// there first). Anything else gets one error per object that says to segment it first.
    /// </summary>
    private IEnumerable<SegmentationResult> PipelineResults()
    {
        if (ParameterSetName != OtherSet)
        {
            foreach (var r in InputObject) if (r != null) yield return r;
            yield break;
        }
        foreach (var item in NotAResult)
        {
            SegmentationResult? r = null;
            bool damaged = false;
            try { r = ResultTransferConverter.Rehydrate(item); }
            catch (CxasException ex)
            {
                damaged = true;
                WriteFileError(ex, (item as PSObject)?.Properties["Path"]?.Value?.ToString());
            }
            if (r != null) yield return r;
            if (r != null || damaged) continue;
            var what = item is PSObject pso ? pso.BaseObject : item;
            var name = what is System.IO.FileSystemInfo fsi ? fsi.FullName : what?.ToString() ?? "null";
            var ex2 = new CxasException(CxasErrorKind.InvalidArgument,
                $"{MyInvocation.MyCommand.Name} takes segmentation results, not '{name}' ({what?.GetType().Name ?? "null"}): " +
                $"pipe the images through Invoke-CxasSegmentation first, e.g. ... | Invoke-CxasSegmentation | {MyInvocation.MyCommand.Name} ...", name);
            WriteFileError(ex2, name);
        }
    }
}
