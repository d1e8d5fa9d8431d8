using Cxas.Export;
using Cxas.Imaging;
using Cxas.Models;
using Cxas.Runs;

namespace Cxas.PowerShell;

/// <summary>
/// A cmdlet's side of a Core <see cref="SegmentationRun"/>: resolves the model, device and output folder from the
/// parameters, reports what will run, hands each file to the run and ends with the run's summary as an information
/// record. Used by Invoke-CxasSegmentation and by every cmdlet that also accepts image files.
/// </summary>
internal sealed class FileSegmentationRun : IDisposable
{
    private readonly CxasCmdlet _cmdlet;
    private readonly SegmentationRun _run;
    private readonly ProgressTracker _progress;

    /// <summary>Starts a run; model, device and output problems are terminating errors.</summary>
    public FileSegmentationRun(CxasCmdlet cmdlet, string? model, string device, string? outputPath, string[] outputTypes,
        bool force, bool noClobber, string activity, int batchSize = 1, bool plannedElsewhere = false, bool skipFinished = false)
    {
        _cmdlet = cmdlet;
        _progress = new ProgressTracker(cmdlet, activity);
        try
        {
            var spec = DeviceSpec.Parse(device);
            var options = new SegmentationRunOptions(cmdlet.ResolveModel(model))
            {
                Device = spec,
                BatchSize = batchSize,
                OutputDirectory = string.IsNullOrEmpty(outputPath) ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(outputPath),
                Formats = outputTypes.Select(CxasCmdlet.Configuration.Writers.ParseFormat).Distinct().ToList(),
                WritePolicy = WritePolicyOf(force, noClobber),
                Activity = activity,
                PlannedElsewhere = plannedElsewhere,
                SkipFinished = skipFinished,
                Configuration = CxasCmdlet.Configuration,
                // The runspace's sessions: a second run in this PowerShell session does not load the model again.
                Sessions = RunspaceSessions.Current,
            };
            _run = new SegmentationRun(options, new CmdletRunHost(cmdlet, _progress));
        }
        catch (CxasException ex)
        {
            cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(ex, ex.FilePath ?? model ?? device));
            throw; // not reached
        }
        var resolved = _run.Model;
        if (resolved.Manifest.TestOnly)
            cmdlet.WriteWarning($"Model '{resolved.Name}' is a test model: its masks are a closed-form function of pixel intensity, not anatomy.");
        cmdlet.WriteVerbose($"Model '{resolved.Name}' ({resolved.Directory}) on {_run.Segmenter.Device}; ONNX Runtime from {NativeRuntime.Source} ({NativeRuntime.Directory}).");
        if (NativeRuntime.Note != null) cmdlet.WriteWarning(NativeRuntime.Note);
        if (_run.Segmenter.DeviceNote != null) cmdlet.WriteVerbose($"CUDA not used: {_run.Segmenter.DeviceNote}");
    }

    /// <summary>-Force and -NoClobber as a write policy (-NoClobber wins: it never loses data).</summary>
    internal static WritePolicy WritePolicyOf(bool force, bool noClobber) =>
        noClobber ? WritePolicy.Keep : force ? WritePolicy.Overwrite : WritePolicy.Fail;

    /// <summary>The run's progress, whose Total a count of the inputs may fill in.</summary>
    internal ProgressTracker Progress => _progress;

    public CxasModel Model => _run.Model;

    /// <summary>Queues one file and yields the results that are ready (lazily: enumerate it at once, on the pipeline thread).</summary>
    public IEnumerable<SegmentationResult> Add(InputFile file) => _run.Add(file);

    /// <summary>Yields the files still in flight, then completes run-level outputs and writes the summary.</summary>
    public IEnumerable<SegmentationResult> Finish()
    {
        foreach (var r in _run.Finish()) yield return r;
        _progress.Complete();
        // One information record sums the run up ($r = ... -InformationVariable info; or 6>&1).
        _cmdlet.WriteInformation(_run.Summarize(_cmdlet.FileErrors) with { LinksNotFollowed = _cmdlet.LinksNotFollowed }, new[] { "Cxas", "Summary" });
    }

    public void Dispose() => _run.Dispose();
}
