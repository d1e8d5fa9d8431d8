using System.Management.Automation.Runspaces;
using Cxas.Imaging;

namespace Cxas.PowerShell;

/// <summary>
/// The base of cmdlets that take image files and segment them: Invoke-CxasSegmentation and Get-CxasFeature. It holds
/// what both need, in the order a file goes through it:
/// <list type="number">
/// <item>input: -LiteralPath (what Get-ChildItem pipes), -Recurse, -FollowSymlink; the derived cmdlet declares -Path
/// (its position differs) and hands it over through <see cref="PathArgument"/>;</item>
/// <item>segmentation: -Model, -Device, here or on the nodes of -Session (at most -ThrottleLimit at once);</item>
/// <item>outputs: -OutputPath, -OutputType, -Force, -NoClobber (the planned, resumable mask outputs);</item>
/// <item>results: each one goes to <see cref="OnSegmented"/>, as soon as it is ready (locally) or as the nodes deliver them.</item>
/// </list>
/// </summary>
public abstract class FileInputCmdlet : CxasCmdlet, IDisposable
{
    internal const string PathSet = "Path";
    internal const string LiteralSet = "LiteralPath";
    internal const string ResultSet = "Result";

    /// <summary>Image files or folders, taken literally; from the pipeline by property name (what Get-ChildItem emits).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralSet)]
    [Alias("PSPath", "FullName", "LP")]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Search folders recursively.</summary>
    [Parameter] public SwitchParameter Recurse { get; set; }

    /// <summary>With -Recurse, also enter folders that are symbolic links (each folder is still scanned once).</summary>
    [Parameter] public SwitchParameter FollowSymlink { get; set; }

    /// <summary>Model name (see Get-CxasModel) or path to a model folder. Default: the module's default model.</summary>
    [Parameter]
    [Alias("m")]
    [ArgumentCompleter(typeof(ModelCompleter))]
    public string? Model { get; set; }

    /// <summary>Auto (CUDA when available, else CPU), Cpu, Cuda, Cuda:N, or the reference's "cpu" / "0".</summary>
    [Parameter]
    [Alias("g", "gpus")]
    [ArgumentCompleter(typeof(DeviceCompleter))]
    public string Device { get; set; } = "Auto";

    /// <summary>Folder to write masks into, as they are produced (like the reference's --store_seg).</summary>
    [Parameter]
    [Alias("o")]
    public string? OutputPath { get; set; }

    /// <summary>Mask formats to write with -OutputPath: png (default), jpg, npy, npz, json (COCO), dicom-seg.</summary>
    [Parameter]
    [Alias("ot")]
    [ValidateMaskFormat]
    [ArgumentCompleter(typeof(MaskFormatCompleter))]
    public string[] OutputType { get; set; } = { "png" };

    /// <summary>With -OutputPath: write every output again, replacing this run's planned outputs that exist.</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    /// <summary>With -OutputPath: skip outputs that exist (with a warning) instead of reporting an error.</summary>
    [Parameter] public SwitchParameter NoClobber { get; set; }

    /// <summary>With -OutputPath: emit nothing for inputs an earlier run finished (by default each gets that run's result, not segmented again).</summary>
    [Parameter] public SwitchParameter SkipFinished { get; set; }

    /// <summary>Images per model run (default 1). Larger batches help on GPUs; on a CPU one image at a time is as fast and holds less memory. At most this many decoded images are held at once.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int BatchSize { get; set; } = 1;

    /// <summary>Sessions to spread the work over (New-PSSession, WinRM or SSH): each node runs the Cxas installed there; paths must be valid on the nodes (a shared folder).</summary>
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralSet)]
    public PSSession[]? Session { get; set; }

    /// <summary>With -Session: how many of the sessions work at once (default: all of them).</summary>
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralSet)]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 1024;

    /// <summary>
    /// True on a -Session node when the output names were planned (and the folder is owned) by the run that sent the
    /// files: this run then takes no ownership of the folder and writes under the journal's names. The node script sets
    /// the variable $CxasOutputPlannedByCoordinator (see RemoteSegmentationRun) rather than a hidden parameter, which
    /// would show in the cmdlet's syntax.
    /// </summary>
    private bool PlannedOutput =>
        LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("CxasOutputPlannedByCoordinator"));

    /// <summary>The derived cmdlet's -Path.</summary>
    /// <summary>Run in the background: emits a job at once (Receive-Job gives the live results, as this command would
    /// emit them: not deserialized copies) and takes the pipeline input along to it.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected abstract string[] PathArgument { get; }

    private JobRequest? _jobRequest;

    /// <summary>
    /// With -AsJob: call first in BeginProcessing (the parameters are recorded before any pipeline input binds), then in
    /// ProcessRecord (the record's pipeline input is recorded) and EndProcessing (the job starts and is emitted). True
    /// means the job took over and the cmdlet does nothing else.
    /// </summary>
    private protected bool ForJob(Action<JobRequest>? recordInput = null)
    {
        if (!AsJob) return false;
        _jobRequest ??= new JobRequest(this);
        if (recordInput != null && MyInvocation.ExpectingInput) recordInput(_jobRequest);
        return true;
    }

    /// <summary>Records this record's file input for the job: -Path strings or -LiteralPath values as they were bound.</summary>
    private protected void RecordFileInput(JobRequest job)
    {
        if (ParameterSetName == LiteralSet) foreach (var p in LiteralPath) job.AddLiteralPath(p);
        else if (ParameterSetName == PathSet) foreach (var p in PathArgument) job.AddPath(p);
    }

    /// <summary>Starts the recorded job and emits it, registered so that Get-Job, Receive-Job and Remove-Job know it.</summary>
    protected void StartJob()
    {
        var job = _jobRequest!.Start();
        JobRepository.Add(job);
        WriteObject(job);
    }

    /// <summary>A result, with the node's wrapper (PSComputerName) when it came from a -Session node.</summary>
    protected abstract void OnSegmented(SegmentationResult result, PSObject? fromNode);

    /// <summary>The parameters that only make sense for image files (for cmdlets that also take results).</summary>
    internal static readonly string[] FileOnlyParameters =
        { nameof(Recurse), nameof(FollowSymlink), nameof(Model), nameof(Device), nameof(OutputPath), nameof(OutputType), nameof(Force), nameof(NoClobber), nameof(SkipFinished), nameof(BatchSize) };

    private FileSegmentationRun? _run;
    private RemoteSegmentationRun? _remote;
    private readonly List<InputFile> _remoteInputs = new List<InputFile>();

    private bool UsesSessions => Session != null && Session.Length > 0;

    /// <summary>Loads the model (or checks the nodes) now, so that a bad -Model or -Device stops the command before any input.</summary>
    protected void StartSegmentation()
    {
        if (_run != null || _remote != null) return;
        if (UsesSessions)
        {
            if (BatchSize > 1) WriteWarning("-BatchSize applies to segmentation here; the -Session nodes segment one image at a time.");
            _remote = new RemoteSegmentationRun(this, Session!, ThrottleLimit, Model, Device, OutputPath, OutputType, Force, NoClobber, SkipFinished);
        }
        else
            _run = new FileSegmentationRun(this, Model, Device, OutputPath, OutputType, Force, NoClobber, MyInvocation.MyCommand.Name, BatchSize, PlannedOutput, SkipFinished);
    }

    /// <summary>The files this pipeline record names (-Path or -LiteralPath, and any <paramref name="extraPaths"/>), expanded lazily.</summary>
    protected IEnumerable<InputFile> RecordFiles(IEnumerable<string>? extraPaths = null)
    {
        bool literal = ParameterSetName == LiteralSet;
        var given = literal ? LiteralPath : PathArgument;
        // Paths given as arguments are all the input there is: count it, so progress shows percent and time remaining.
        if (!MyInvocation.ExpectingInput && _run != null)
            CountInputs((extraPaths ?? Enumerable.Empty<string>()).Select(p => (p, false)).Concat(given.Select(p => (p, literal))), _run.Progress);
        if (extraPaths != null)
            foreach (var file in ExpandInputs(extraPaths.ToArray(), false, Recurse, FollowSymlink)) yield return file;
        foreach (var file in ExpandInputs(given, literal, Recurse, FollowSymlink)) yield return file;
    }

    /// <summary>
    /// Counts the input files of <paramref name="paths"/> for <paramref name="progress"/>: paths are resolved here (the
    /// provider needs the pipeline thread; what does not resolve counts nothing, its error comes from the run), folders
    /// are listed by a second scanner on a worker thread with the run's rules, so a large tree still starts at once and
    /// the total appears when its listing is done. The run's own scan is not held up; the count reads only names (and,
    /// for files without an extension, the first bytes, as the scan does).
    /// </summary>
    private void CountInputs(IEnumerable<(string Path, bool Literal)> paths, ProgressTracker progress)
    {
        var files = 0;
        var folders = new List<string>();
        foreach (var (p, isLiteral) in paths)
        {
            try
            {
                foreach (var r in ResolveFileSystemPaths(p, isLiteral))
                {
                    if (Directory.Exists(r)) folders.Add(r);
                    else if (File.Exists(r)) files++;
                }
            }
            catch (Exception) { }
        }
        if (folders.Count == 0)
        {
            progress.Total = files;
            return;
        }
        bool recurse = Recurse, follow = FollowSymlink;
        System.Threading.Tasks.Task.Run(() =>
        {
            try
            {
                var scanner = new FolderScanner { Recurse = recurse, FollowLinks = follow };
                progress.Total = files + folders.Sum(f => scanner.Scan(f).Count());
            }
            catch (Exception) { } // a folder that cannot be listed now is reported by the run's own scan
        });
    }

    /// <summary>Segments files: here, results come out as they are ready; with -Session they are collected and sent out at the end.</summary>
    protected void Segment(IEnumerable<InputFile> files)
    {
        StartSegmentation();
        if (_remote != null)
        {
            _remoteInputs.AddRange(files);
            return;
        }
        foreach (var file in files)
            foreach (var result in _run!.Add(file)) OnSegmented(result, null);
    }

    /// <summary>Waits for what is still in flight (and runs the fan-out over the sessions); call from EndProcessing.</summary>
    protected void FinishSegmentation()
    {
        if (_remote != null)
            foreach (var result in _remote.Run(_remoteInputs)) OnSegmented((SegmentationResult)result.BaseObject, result);
        if (_run != null)
            foreach (var result in _run.Finish()) OnSegmented(result, null);
    }

    protected override void StopProcessing() => _remote?.Stop();

    public void Dispose()
    {
        _run?.Dispose();
        _remote?.Dispose();
    }
}
