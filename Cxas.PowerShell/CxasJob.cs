using System.Management.Automation.Runspaces;
using System.Threading;

namespace Cxas.PowerShell;

/// <summary>
/// What -AsJob does, in order: the invocation records its parameters as they were before any pipeline input
/// (<see cref="JobRequest"/>) and each pipeline input it is given; at the end it starts a <see cref="CxasJob"/> and emits
/// it. The job runs the same command with the same parameters and input in a runspace of its own on a thread of this
/// process, in the caller's current folder, so its output is the live objects the command emits (Receive-Job returns
/// SegmentationResult objects with their masks, not deserialized copies) and its errors, warnings, verbose, progress and
/// information records reach the job's streams as they happen.
/// </summary>
internal sealed class JobRequest
{
    private readonly Dictionary<string, object?> _parameters;
    private readonly List<object> _input = new List<object>();

    public JobRequest(PSCmdlet cmdlet)
    {
        Command = cmdlet.MyInvocation.MyCommand.Name;
        ModuleManifest = System.IO.Path.Combine(cmdlet.MyInvocation.MyCommand.Module?.ModuleBase ?? "", "Cxas.psd1");
        Location = cmdlet.SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        _parameters = cmdlet.MyInvocation.BoundParameters
            .Where(p => p.Key != "AsJob")
            .ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.OrdinalIgnoreCase);
    }

    public string Command { get; }
    public string ModuleManifest { get; }
    public string Location { get; }

    /// <summary>A path string that came down the pipeline (it binds to -Path in the job, as it did here).</summary>
    public void AddPath(string path) => _input.Add(path);

    /// <summary>A literal path that came down the pipeline (a FileInfo's PSPath): it binds to -LiteralPath again.</summary>
    public void AddLiteralPath(string path)
    {
        var item = new PSObject();
        item.Properties.Add(new PSNoteProperty("PSPath", path));
        _input.Add(item);
    }

    /// <summary>Any other pipeline input (results, DICOMweb instances), as it is.</summary>
    public void AddObject(object item) => _input.Add(item);

    public CxasJob Start()
    {
        var job = new CxasJob(this, _parameters, _input.ToArray());
        job.Run();
        return job;
    }
}

/// <summary>A Cxas command running on a thread of this process (see <see cref="JobRequest"/>).</summary>
public sealed class CxasJob : Job
{
    private readonly JobRequest _request;
    private readonly Dictionary<string, object?> _parameters;
    private readonly object[] _input;
    private System.Management.Automation.PowerShell? _shell;
    private int _stopRequested;

    internal CxasJob(JobRequest request, Dictionary<string, object?> parameters, object[] input)
        : base(request.Command + " -AsJob", null)
    {
        _request = request;
        _parameters = parameters;
        _input = input;
        PSJobTypeName = "CxasJob";
    }

    public override string Location => "localhost";

    public override bool HasMoreData =>
        Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Debug.Count > 0 || Progress.Count > 0 || Information.Count > 0;

    public override string StatusMessage => JobStateInfo.State.ToString();

    public override void StopJob()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) == 1) return;
        var shell = _shell;
        if (shell != null) shell.Stop();
        else if (!IsFinished(JobStateInfo.State)) SetJobState(JobState.Stopped);
    }

    internal void Run()
    {
        SetJobState(JobState.Running);
        var thread = new Thread(Body) { IsBackground = true, Name = Name };
        thread.Start();
    }

    private void Body()
    {
        JobState end = JobState.Completed;
        try
        {
            var state = InitialSessionState.CreateDefault2();
            using var runspace = RunspaceFactory.CreateRunspace(state);
            runspace.Open();
            using var shell = System.Management.Automation.PowerShell.Create();
            shell.Runspace = runspace;
            // The job's own collections are the command's streams: Receive-Job reads them while it runs.
            shell.Streams.Error = Error;
            shell.Streams.Warning = Warning;
            shell.Streams.Verbose = Verbose;
            shell.Streams.Debug = Debug;
            shell.Streams.Progress = Progress;
            shell.Streams.Information = Information;
            // The module and the caller's folder first, on their own: pipeline input goes to the command alone.
            shell.AddCommand("Import-Module").AddParameter("Name", _request.ModuleManifest).AddStatement()
                 .AddCommand("Set-Location").AddParameter("LiteralPath", _request.Location);
            shell.Invoke();
            shell.Commands.Clear();
            shell.AddCommand(_request.Command);
            foreach (var p in _parameters) shell.AddParameter(p.Key, p.Value);
            _shell = shell;
            if (Volatile.Read(ref _stopRequested) == 1) { end = JobState.Stopped; return; }
            var input = new PSDataCollection<object>(_input);
            input.Complete();
            shell.Invoke(input, Output);
            // As with Start-Job, errors for single files leave the job Completed; a terminating error fails it.
            if (Volatile.Read(ref _stopRequested) == 1) end = JobState.Stopped;
        }
        catch (PipelineStoppedException) { end = JobState.Stopped; }
        catch (Exception ex)
        {
            end = JobState.Failed;
            Error.Add(new ErrorRecord(ex, "Cxas.JobFailed", ErrorCategory.NotSpecified, Name));
        }
        finally
        {
            _shell = null;
            SetJobState(end);
        }
    }

    private static bool IsFinished(JobState state) =>
        state == JobState.Completed || state == JobState.Failed || state == JobState.Stopped;
}
