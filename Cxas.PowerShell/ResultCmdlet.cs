
namespace Cxas.PowerShell;

/// <summary>
/// The base of cmdlets that take segmentation results from the pipeline and write something from them
/// (Export-CxasMask, Export-CxasOverlay, Export-CxasReport). In the order of a run:
/// <list type="number">
/// <item>setup (<see cref="Setup"/>): a bad argument or an output that cannot be made stops the command at once;</item>
/// <item>each result (<see cref="ProcessResult"/>), with progress: -InputObject takes any object, as Export-Csv's does,
/// so that one parameter set serves all input and nothing hidden shows in the syntax. A result is processed; a result
/// that crossed a job or remoting boundary is converted back first (see <see cref="ResultTransferConverter"/>); anything
/// else (files, folders, paths) gets one clear error per object saying what to do, instead of PowerShell's generic
/// InputObjectNotBound;</item>
/// <item>the end (<see cref="Finish"/>).</item>
/// </list>
/// -Force and -NoClobber mean the same everywhere: replace what exists, or keep it with a warning instead of an error.
/// </summary>
public abstract class ResultCmdlet : CxasCmdlet
{
    /// <summary>Segmentation results (Cxas.Segmentation.SegmentationResult), from Invoke-CxasSegmentation (also from a job or a remote session).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public PSObject[] InputObject { get; set; } = Array.Empty<PSObject>();

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
        // Results given as an argument (-InputObject $results) are all there are: progress can show percent.
        _progress ??= new ProgressTracker(this, ProgressActivity) { Total = MyInvocation.ExpectingInput ? 0 : InputObject.Length };
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

    /// <summary>
    /// The results of this pipeline record: live results as they are, deserialized ones (from jobs and remote sessions,
    /// which deserialize without the module's type data) converted back. Anything else gets one error per object that
    /// says to segment it first.
    /// </summary>
    private IEnumerable<SegmentationResult> PipelineResults()
    {
        foreach (var item in InputObject)
        {
            if (item == null) continue;
            SegmentationResult? r = null;
            bool damaged = false;
            try { r = ResultTransferConverter.Rehydrate(item); }
            catch (CxasException ex)
            {
                damaged = true;
                WriteFileError(ex, item.Properties["Path"]?.Value?.ToString());
            }
            if (r != null) yield return r;
            if (r != null || damaged) continue;
            var what = item.BaseObject;
            var name = what is System.IO.FileSystemInfo fsi ? fsi.FullName : what?.ToString() ?? "null";
            var ex2 = new CxasException(CxasErrorKind.InvalidArgument,
                $"{MyInvocation.MyCommand.Name} takes segmentation results, not '{name}' ({what?.GetType().Name ?? "null"}): " +
                $"pipe the images through Invoke-CxasSegmentation first, e.g. ... | Invoke-CxasSegmentation | {MyInvocation.MyCommand.Name} ...", name);
            WriteFileError(ex2, name);
        }
    }
}
