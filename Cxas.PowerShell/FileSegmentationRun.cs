using Cxas.Imaging;
using Cxas.Models;

namespace Cxas.PowerShell;

/// <summary>
/// Segments files for a cmdlet: resolves the model and device, overlaps decoding with inference, writes masks to
/// an output folder when asked, reports progress and turns failures into non-terminating errors naming the file.
/// Used by Invoke-CxasSegmentation and by every cmdlet that also accepts image files.
/// </summary>
internal sealed class FileSegmentationRun : IDisposable
{
    private readonly CxasCmdlet _cmdlet;
    private readonly Segmenter _segmenter;
    private readonly SegmentationQueue _queue;
    private readonly MaskOutputSet? _outputs;
    private readonly ProgressTracker _progress;
    private readonly string _activity;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private int _skipped, _results;

    /// <summary>Starts a run; model, device and output problems are terminating errors.</summary>
    public FileSegmentationRun(CxasCmdlet cmdlet, string? model, string device, string? outputPath, string[] outputTypes,
        bool force, bool noClobber, string activity, int batchSize = 1)
    {
        _cmdlet = cmdlet;
        CxasModel resolved;
        try
        {
            var spec = DeviceSpec.Parse(device);
            resolved = cmdlet.ResolveModel(model);
            _segmenter = new Segmenter(resolved, spec);
            if (!string.IsNullOrEmpty(outputPath))
                _outputs = new MaskOutputSet(cmdlet, cmdlet.GetUnresolvedProviderPathFromPSPath(outputPath), outputTypes, force, noClobber, null);
        }
        catch (CxasException ex)
        {
            cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(ex, ex.FilePath ?? model ?? device));
            throw; // not reached
        }
        if (resolved.Manifest.TestOnly)
            cmdlet.WriteWarning($"Model '{resolved.Name}' is a test model: its masks are a closed-form function of pixel intensity, not anatomy.");
        cmdlet.WriteVerbose($"Model '{resolved.Name}' ({resolved.Directory}) on {_segmenter.Device}; ONNX Runtime from {NativeRuntime.Source} ({NativeRuntime.Directory}).");
        if (NativeRuntime.Note != null) cmdlet.WriteWarning(NativeRuntime.Note);
        if (_segmenter.DeviceNote != null) cmdlet.WriteVerbose($"CUDA not used: {_segmenter.DeviceNote}");
        _queue = new SegmentationQueue(_segmenter, depth: 2, batchSize: batchSize);
        _progress = new ProgressTracker(cmdlet, activity);
        _activity = activity;
    }

    public CxasModel Model => _segmenter.Model;

    /// <summary>The run's progress, whose Total a count of the inputs may fill in.</summary>
    internal ProgressTracker Progress => _progress;

    /// <summary>
    /// Queues one file and yields the results that are ready (lazily: enumerate it at once, on the pipeline thread).
    /// A file whose outputs all exist already is skipped before it is decoded. Failures are written as errors, not yielded.
    /// </summary>
    public IEnumerable<SegmentationResult> Add(InputFile file)
    {
        bool finished;
        try { finished = _outputs != null && _outputs.IsFinished(file); }
        catch (CxasException ex)
        {
            _cmdlet.WriteFileError(ex, file.Path);
            yield break;
        }
        if (finished)
        {
            _skipped++;
            _progress.Step(file.Path);
            _cmdlet.WriteVerbose($"Skipped '{file.Path}': its outputs are already written.");
            yield break;
        }
        foreach (var outcome in _queue.Submit(file))
            if (Take(outcome) is SegmentationResult r) yield return r;
        foreach (var outcome in _queue.TakeCompleted())
            if (Take(outcome) is SegmentationResult r) yield return r;
    }

    /// <summary>Yields the files still in flight, then completes run-level outputs.</summary>
    public IEnumerable<SegmentationResult> Finish()
    {
        SegmentationOutcome? outcome;
        while ((outcome = _queue.TakeNext()) != null)
            if (Take(outcome) is SegmentationResult r) yield return r;
        if (_outputs != null)
            foreach (var record in _outputs.Complete()) _cmdlet.WriteVerbose($"Wrote '{record.OutputPath}'.");
        if (_skipped > 0)
            _cmdlet.WriteWarning($"Skipped {_skipped} input(s) whose outputs were already written by an earlier run (use -Force to redo them).");
        _progress.Complete();
        // One information record sums the run up ($r = ... -InformationVariable info; or 6>&1).
        double seconds = _clock.Elapsed.TotalSeconds;
        var summary = new RunSummary(_activity, _results + _skipped + _cmdlet.FileErrors, _results, _cmdlet.FileErrors, _skipped,
            Math.Round(seconds, 2), seconds > 0 ? Math.Round(_results / seconds, 2) : 0) { LinksNotFollowed = _cmdlet.LinksNotFollowed };
        _cmdlet.WriteInformation(summary, new[] { "Cxas", "Summary" });
    }

    private SegmentationResult? Take(SegmentationOutcome outcome)
    {
        _progress.Step(outcome.Path);
        DicomWebParameters.Flush(_cmdlet);
        if (outcome.Result == null)
        {
            // Refused credentials fail every instance alike: one terminating error, not one per instance.
            if (outcome.Error is CxasException { Kind: CxasErrorKind.Unauthorized } denied)
                _cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(denied, outcome.Path));
            _cmdlet.WriteFileError(outcome.Error!, outcome.Path);
            return null;
        }
        var r = outcome.Result;
        _results++;
        _cmdlet.WriteVerbose($"{r.FileName}: decode {r.DecodeMs} ms, inference {r.InferenceMs} ms, {r.PresentCount}/{r.ClassCount} classes found.");
        if (_outputs != null)
            foreach (var record in _outputs.Write(outcome.Result)) _cmdlet.WriteVerbose($"Wrote '{record.OutputPath}'.");
        return outcome.Result;
    }

    public void Dispose()
    {
        // Drain background work so no task outlives the pipeline, and discard unfinished run-level outputs.
        try { while (_queue.TakeNext() != null) { } } catch (Exception) { }
        _outputs?.Dispose();
    }
}

/// <summary>What one segmentation run did: the message data of its closing information record.</summary>
/// <param name="Activity">The cmdlet that ran.</param>
/// <param name="Files">Inputs seen: results, skipped and failed.</param>
/// <param name="Results">Images segmented.</param>
/// <param name="Errors">Inputs that failed (each with its error record).</param>
/// <param name="Skipped">Inputs whose outputs were all there already.</param>
/// <param name="Seconds">Wall time of the run.</param>
/// <param name="ImagesPerSecond">Results per second of wall time.</param>
public sealed record RunSummary(string Activity, int Files, int Results, int Errors, int Skipped, double Seconds, double ImagesPerSecond)
{
    /// <summary>Folder links (symbolic links, junctions, mount points) under a -Recurse folder that were not entered.</summary>
    public int LinksNotFollowed { get; init; }

    public override string ToString() =>
        $"{Activity}: {Files} file(s), {Results} result(s), {Errors} error(s), {Skipped} skipped, " +
        (LinksNotFollowed > 0 ? $"{LinksNotFollowed} folder link(s) not followed, " : "") +
        $"{Seconds:0.0} s ({ImagesPerSecond:0.00} images/s).";
}
