using System;
using System.Collections.Generic;
using System.Management.Automation;
using Cxas.Imaging;
using Cxas.Models;
using Cxas.Segmentation;

namespace Cxas.PowerShell
{
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
        private int _skipped;

        /// <summary>Starts a run; model, device and output problems are terminating errors.</summary>
        public FileSegmentationRun(CxasCmdlet cmdlet, string? model, string device, string? outputPath, string[] outputTypes,
            bool force, bool noClobber, string activity)
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
            cmdlet.WriteVerbose($"Model '{resolved.Name}' ({resolved.Directory}) on {_segmenter.Device}.");
            if (_segmenter.DeviceNote != null) cmdlet.WriteVerbose($"CUDA not used: {_segmenter.DeviceNote}");
            _queue = new SegmentationQueue(_segmenter);
            _progress = new ProgressTracker(cmdlet, activity);
        }

        public CxasModel Model => _segmenter.Model;

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
                _cmdlet.WriteError(CxasCmdlet.ToErrorRecord(ex, file.Path));
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
        }

        private SegmentationResult? Take(SegmentationOutcome outcome)
        {
            _progress.Step(outcome.Path);
            DicomWebConnection.Flush(_cmdlet);
            if (outcome.Result == null)
            {
                // Refused credentials fail every instance alike: one terminating error, not one per instance.
                if (outcome.Error is CxasException { Kind: CxasErrorKind.Unauthorized } denied)
                    _cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(denied, outcome.Path));
                _cmdlet.WriteError(CxasCmdlet.ToErrorRecord(outcome.Error!, outcome.Path));
                return null;
            }
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
}
