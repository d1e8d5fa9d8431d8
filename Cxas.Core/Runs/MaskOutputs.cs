using Cxas.Export;
using Cxas.Imaging;
using Cxas.Segmentation;

namespace Cxas.Runs
{
    /// <summary>
    /// The mask outputs of one run (or export) into one folder: the folder's ownership (<see cref="OutputOwnership"/>,
    /// taken before the journal is read, held until disposed), one output plan (with its journal in the output folder)
    /// and the writers of every format, with the host's confirmation and the write policy applied to every write.
    /// Unless overwriting, an input whose outputs the plan already holds is finished; run-level files (COCO) are
    /// completed at the end or discarded if the run stops. An output asked for again:
    /// <list type="bullet">
    /// <item>a mask folder gains the class files it lacks (an export with other <c>-Label</c>s adds them);</item>
    /// <item>a file (npy, npz, DICOM-SEG) written earlier is kept: quietly in a run that resumes (it is that run's finished
    /// output), as an AlreadyExists error in an export (it may hold other classes), so asking again never does nothing silently.</item>
    /// </list>
    /// </summary>
    internal sealed class MaskOutputs : IDisposable
    {
        private readonly IRunHost _host;

        /// <summary>" (the caller's words for <paramref name="remedy"/>)", or nothing.</summary>
        private string Hint(CxasRemedy remedy) => _host.Advice(remedy) is string advice ? $" ({advice})" : "";
        private readonly OutputPlan _plan;
        private readonly MaskExporter _exporter;
        private readonly bool _force;
        private readonly bool _noClobber;
        private readonly bool _canSkipInputs;
        private readonly bool _resume;
        private readonly OutputOwnership? _ownership;
        private readonly ResultRecords _records;
        private readonly bool _recordsResults;
        private bool _cocoDeclined;

        /// <param name="outputDirectory">The output folder (created when the run takes it).</param>
        /// <param name="formats">The formats to write.</param>
        /// <param name="policy">What to do with outputs that exist.</param>
        /// <param name="labels">Classes to write (null: all).</param>
        /// <param name="host">Confirmation and reporting.</param>
        /// <param name="resume">A run that resumes (its earlier outputs are finished work) rather than an export.</param>
        /// <param name="takeOwnership">Take the folder's lock (false: a fan-out node, whose planner holds it).</param>
        /// <param name="ownershipWait">How long to wait for another run that owns the folder.</param>
        /// <param name="writers">The configuration's formats, which write and name the outputs (the built-in ones when null).</param>
        public MaskOutputs(string outputDirectory, IEnumerable<MaskFormat> formats, WritePolicy policy, IReadOnlyList<string>? labels, IRunHost host,
            bool resume = true, bool takeOwnership = true, TimeSpan? ownershipWait = null, MaskWriters? writers = null)
        {
            _host = host;
            _force = policy == WritePolicy.Overwrite;
            _noClobber = policy == WritePolicy.Keep;
            _resume = resume;
            var parsed = formats.Distinct().ToList();
            // A run that writes nothing (-WhatIf) neither creates the folder nor locks it.
            if (takeOwnership && !host.WritesNothing)
            {
                try { _ownership = OutputOwnership.Acquire(outputDirectory, ownershipWait ?? OutputOwnership.DefaultWait, host.Verbose, () => host.Stopping); }
                catch (CxasException ex) when (ex.Kind == CxasErrorKind.WriteFailed)
                {
                    // A folder this run cannot create or write in: no output can land there, so no other run's can be
                    // mixed up; each write then fails on its own, naming its input.
                    host.Verbose($"The output folder is not locked: {ex.Message}");
                }
            }
            try { _plan = new OutputPlan(outputDirectory, useJournal: true, writers); }
            catch
            {
                _ownership?.Dispose();
                throw;
            }
            _exporter = new MaskExporter(_plan, parsed, _force, labels);
            _records = new ResultRecords(_plan);
            // A COCO file is the run's whole, never one input's finished output: with json nothing is recorded or answered.
            _recordsResults = resume && !parsed.Contains(MaskFormat.Json);
            // A COCO file collects the whole run, so with json asked for every input is segmented again.
            _canSkipInputs = !_force && !parsed.Contains(MaskFormat.Json);
        }

        public OutputPlan Plan => _plan;

        /// <summary>
        /// Whether every output of an input already exists (written by an earlier run of this plan, or, with
        /// <see cref="WritePolicy.Keep"/>, by anyone): the input need not even be decoded.
        /// </summary>
        public bool IsFinished(InputFile input)
        {
            if (!_canSkipInputs) return false;
            var planned = _plan.Plan(input.Path, input.RelativePath);
            return _exporter.Groups.All(group => group.All(f => OutputPlan.IsFinished(planned, f) ||
                (_noClobber && Exists(planned.TargetFor(f)))));
        }

        /// <summary>The earlier run's result for a finished input, or null (with a verbose line saying why) when it must be segmented again.</summary>
        public SegmentationResult? Earlier(InputFile input)
        {
            var planned = _plan.Plan(input.Path, input.RelativePath);
            var result = _records.Read(planned, out var why);
            if (result == null) _host.Verbose($"'{input.Path}' is finished, but {why}: it is segmented again (its outputs are kept).");
            return result;
        }

        /// <summary>Keeps a result whose outputs are all written, for reruns to answer with (see <see cref="ResultRecords"/>).</summary>
        public void Remember(SegmentationResult result)
        {
            if (!_recordsResults || _host.WritesNothing) return;
            try
            {
                var planned = _exporter.PlanFor(result);
                if (_exporter.Groups.All(group => group.All(f => OutputPlan.IsFinished(planned, f))))
                    _records.Write(planned, result);
            }
            catch (CxasException ex) { _host.OutputFailed(ex, result.Path); }
        }

        /// <summary>Plans an input's name and records it in the journal before anything of it is written (for runs that hand inputs out).</summary>
        public PlannedInput Reserve(InputFile input)
        {
            var planned = _plan.Plan(input.Path, input.RelativePath);
            _plan.Record(planned);
            return planned;
        }

        private static bool Exists(string target) => File.Exists(target) || Directory.Exists(target);

        /// <summary>Whether a recorded input's outputs of one group hold what is asked: every class file of a mask folder, or the file.</summary>
        private bool IsWritten(PlannedInput planned, MaskFormat[] group, SegmentationResult result, IReadOnlyList<int> classes)
        {
            if (!planned.Recorded) return false;
            if (!_exporter.IsFolderFormat(group[0])) return group.All(f => OutputPlan.IsFinished(planned, f));
            var target = planned.TargetFor(group[0]);
            return Directory.Exists(target) &&
                   group.All(f => classes.All(c => File.Exists(Path.Combine(target, result.Masks.Labels[c] + _exporter.FileExtension(f)))));
        }

        /// <summary>Writes every output of one result; failures go to the host, naming the file.</summary>
        public IReadOnlyList<MaskExportRecord> Write(SegmentationResult result)
        {
            var records = new List<MaskExportRecord>();
            PlannedInput planned;
            IReadOnlyList<int> classes;
            try
            {
                planned = _exporter.PlanFor(result);
                classes = _exporter.ClassesFor(result.Masks);
            }
            catch (CxasException ex)
            {
                _host.OutputFailed(ex, result.Path);
                return records;
            }
            foreach (var group in _exporter.Groups)
            {
                var target = planned.TargetFor(group[0]);
                bool runLevel = group[0] == MaskFormat.Json;
                if (runLevel && _cocoDeclined) continue;
                if (!runLevel && !_force && IsWritten(planned, group, result, classes))
                {
                    if (_resume || _exporter.IsFolderFormat(group[0]))
                        _host.Verbose($"'{target}' already holds what is asked{Hint(CxasRemedy.Overwrite)}.");
                    else if (_noClobber)
                        _host.Warning($"Skipped '{target}': it already exists and is kept, as asked.");
                    else
                        _host.OutputFailed(new CxasException(CxasErrorKind.AlreadyExists,
                            $"'{target}' was written by an earlier export (perhaps with other classes); it is kept.", target, remedy: CxasRemedy.Overwrite), result.Path);
                    continue;
                }
                if (_noClobber && !runLevel && Exists(target) && !planned.Recorded)
                {
                    _host.Warning($"Skipped '{target}': it already exists and is kept, as asked.");
                    continue;
                }
                var action = runLevel ? $"Add {result.FileName} to COCO file" : $"Write {_exporter.GroupName(group)} masks of {result.FileName}";
                // Confirmation is outside the catch: a host that cannot prompt stops the run, as PowerShell's own cmdlets do.
                if (!_host.ShouldProcess(target, action))
                {
                    if (runLevel) _cocoDeclined = true;
                    continue;
                }
                // Core code only inside: every failure is this input's (or the COCO file's), and the run goes on.
                try { records.AddRange(_exporter.ExportGroup(result, planned, group)); }
                catch (Exception ex)
                {
                    if (runLevel && ex is CxasException cx && cx.Kind == CxasErrorKind.AlreadyExists && _noClobber)
                    {
                        _host.Warning($"Skipped '{target}': it already exists and is kept, as asked.");
                        _cocoDeclined = true;
                        continue;
                    }
                    if (runLevel && ex is CxasException) _cocoDeclined = true;
                    _host.OutputFailed(ex, result.Path);
                }
            }
            return records;
        }

        /// <summary>Completes run-level outputs.</summary>
        public IReadOnlyList<MaskExportRecord> Complete()
        {
            var records = new List<MaskExportRecord>();
            try
            {
                var record = _exporter.Complete();
                if (record != null) records.Add(record);
            }
            catch (Exception ex)
            {
                _host.OutputFailed(ex, null);
            }
            return records;
        }

        public void Dispose()
        {
            _exporter.Dispose();
            _plan.Dispose();
            _ownership?.Dispose();
        }
    }
}
