using System.Diagnostics;
using Cxas.Export;
using Cxas.Imaging;
using Cxas.Models;
using Cxas.Segmentation;

namespace Cxas.Runs
{
    /// <summary>
    /// One segmentation run over files, as the cmdlets, the fan-out and the benchmark run it. Each input goes:
    /// <list type="number">
    /// <item>finished? with an output folder, an input whose outputs all exist already is not decoded: its result is the
    /// earlier run's (<see cref="ResultRecords"/>), handed back in its place, or it is dropped with
    /// <see cref="SegmentationRunOptions.SkipFinished"/>;</item>
    /// <item>the queue: decoding of the next files overlaps inference on the current one, results in input order;</item>
    /// <item>outputs: each result's masks are written (<see cref="MaskOutputs"/>: plan, journal, write policy,
    /// confirmation) and, once all are there, the result is recorded for reruns; then it is handed back;</item>
    /// <item>the end: run-level outputs (COCO) are completed and the run is summed up (<see cref="Summarize"/>).</item>
    /// </list>
    /// Failures are reported to the host, naming the file; the other inputs go on. Enumerate what <see cref="Add"/>
    /// and <see cref="Finish"/> return at once, on one thread.
    /// </summary>
    public sealed class SegmentationRun : IDisposable
    {
        private readonly SegmentationRunOptions _options;
        private readonly IRunHost _host;
        private readonly Segmenter _segmenter;
        private readonly SegmentationQueue _queue;
        private readonly MaskOutputs? _outputs;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Stopwatch _writing = new Stopwatch();
        private int _skipped, _results, _failed;

        /// <summary>Starts a run: loads the model on the device and opens the output folder (errors: <see cref="CxasException"/>).</summary>
        public SegmentationRun(SegmentationRunOptions options, IRunHost host)
        {
            _options = options;
            _host = host;
            // Given no owner of sessions, the segmenter's own session is disposed with the run.
            _segmenter = new Segmenter(options.Model, options.Device, options.Sessions);
            try
            {
                if (!string.IsNullOrEmpty(options.OutputDirectory))
                    _outputs = new MaskOutputs(options.OutputDirectory!, options.Formats, options.WritePolicy, options.Labels, host,
                        resume: true, takeOwnership: !options.PlannedElsewhere, ownershipWait: options.OwnershipWait, writers: options.Configuration.Writers);
            }
            catch
            {
                _segmenter.Dispose();
                throw;
            }
            _queue = new SegmentationQueue(_segmenter, depth: 2, batchSize: options.BatchSize, readers: options.Configuration.Readers);
        }

        public CxasModel Model => _segmenter.Model;
        public Segmenter Segmenter => _segmenter;
        /// <summary>Time spent writing outputs (on the run's thread, between results).</summary>
        public TimeSpan WriteTime => _writing.Elapsed;
        /// <summary>Inputs that failed in this run.</summary>
        public int Failed => _failed;

        /// <summary>
        /// Queues one file and yields the results that are ready (lazily: enumerate it at once). A file whose outputs
        /// all exist already is skipped before it is decoded. Failures go to the host, not yielded.
        /// </summary>
        public IEnumerable<SegmentationResult> Add(InputFile file)
        {
            bool finished;
            try { finished = _outputs != null && _outputs.IsFinished(file); }
            catch (CxasException ex)
            {
                Fail(ex, file.Path);
                yield break;
            }
            SegmentationResult? earlier = null;
            if (finished && !_options.SkipFinished) earlier = _outputs!.Earlier(file);
            if (finished && _options.SkipFinished)
            {
                _skipped++;
                _host.Step(file.Path);
                _host.Verbose($"Skipped '{file.Path}': its outputs are already written.");
                yield break;
            }
            var submitted = earlier != null ? _queue.SubmitDone(new SegmentationOutcome(file.Path, earlier, null, reused: true)) : _queue.Submit(file);
            foreach (var outcome in submitted)
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
                foreach (var record in _outputs.Complete()) _host.Verbose($"Wrote '{record.OutputPath}'.");
            if (_skipped > 0)
                _host.Warning($"Skipped {_skipped} input(s) whose outputs were already written by an earlier run" +
                              (_options.SkipFinished ? "" : ": their results are that run's") +
                              (_host.Advice(CxasRemedy.RedoFinished) is string advice ? $" ({advice})." : "."));
        }

        /// <summary>The run so far; <paramref name="inputErrors"/> counts every failed input the caller reported (its own and the run's).</summary>
        public RunSummary Summarize(int inputErrors)
        {
            double seconds = _clock.Elapsed.TotalSeconds;
            return new RunSummary(_options.Activity, _results + _skipped + inputErrors, _results, inputErrors, _skipped,
                Math.Round(seconds, 2), seconds > 0 ? Math.Round(_results / seconds, 2) : 0);
        }

        private void Fail(Exception error, string path)
        {
            _failed++;
            _host.InputFailed(error, path);
        }

        private SegmentationResult? Take(SegmentationOutcome outcome)
        {
            _host.Step(outcome.Path);
            if (outcome.Result == null)
            {
                Fail(outcome.Error!, outcome.Path);
                return null;
            }
            var r = outcome.Result;
            if (outcome.Reused)
            {
                _skipped++;
                _host.Verbose($"{r.FileName}: finished by an earlier run; its result is that run's (not decoded or segmented again).");
                return r;
            }
            _results++;
            _host.Verbose($"{r.FileName}: decode {r.DecodeMs} ms, inference {r.InferenceMs} ms, {r.PresentCount}/{r.ClassCount} classes found.");
            if (_outputs != null)
            {
                _writing.Start();
                try
                {
                    foreach (var record in _outputs.Write(r)) _host.Verbose($"Wrote '{record.OutputPath}'.");
                    _outputs.Remember(r);
                }
                finally { _writing.Stop(); }
            }
            return r;
        }

        public void Dispose()
        {
            // Drain background work so no task outlives the run, and discard unfinished run-level outputs.
            try { while (_queue.TakeNext() != null) { } } catch (Exception) { }
            _outputs?.Dispose();
            _segmenter.Dispose(); // only a session of the run's own: one from options.Sessions stays with its owner
        }
    }
}
