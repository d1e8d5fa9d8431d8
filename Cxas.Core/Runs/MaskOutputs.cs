using Cxas.Export;
using Cxas.Imaging;
using Cxas.Segmentation;

namespace Cxas.Runs
{
    /// <summary>
    /// The mask outputs of one run (or export) into one folder: one output plan (with its journal in the output folder)
    /// and the writers of every format, with the host's confirmation and the write policy applied to every write.
    /// Unless overwriting, an input whose outputs the plan already holds is finished; run-level files (COCO) are
    /// completed at the end or discarded if the run stops.
    /// </summary>
    public sealed class MaskOutputs : IDisposable
    {
        private readonly IRunHost _host;
        private readonly OutputPlan _plan;
        private readonly MaskExporter _exporter;
        private readonly bool _force;
        private readonly bool _noClobber;
        private readonly bool _canSkipInputs;
        private bool _cocoDeclined;

        public MaskOutputs(string outputDirectory, IEnumerable<MaskFormat> formats, WritePolicy policy, IReadOnlyList<string>? labels, IRunHost host)
        {
            _host = host;
            _force = policy == WritePolicy.Overwrite;
            _noClobber = policy == WritePolicy.Keep;
            var parsed = formats.Distinct().ToList();
            _plan = new OutputPlan(outputDirectory, useJournal: true);
            _exporter = new MaskExporter(_plan, parsed, _force, labels);
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

        /// <summary>Plans an input's name and records it in the journal before anything of it is written (for runs that hand inputs out).</summary>
        public PlannedInput Reserve(InputFile input)
        {
            var planned = _plan.Plan(input.Path, input.RelativePath);
            _plan.Record(planned);
            return planned;
        }

        private static bool Exists(string target) => File.Exists(target) || Directory.Exists(target);


        /// <summary>Writes every output of one result; failures go to the host, naming the file.</summary>
        public IReadOnlyList<MaskExportRecord> Write(SegmentationResult result)
        {
            var records = new List<MaskExportRecord>();
            PlannedInput planned;
            try { planned = _exporter.PlanFor(result); }
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
                if (!runLevel && !_force && group.All(f => OutputPlan.IsFinished(planned, f)))
                {
                    _host.Verbose($"'{target}' is already written (use -Force to write it again).");
                    continue;
                }
                if (_noClobber && !runLevel && Exists(target) && !planned.Recorded)
                {
                    _host.Warning($"Skipped '{target}': it already exists (-NoClobber).");
                    continue;
                }
                var action = runLevel ? $"Add {result.FileName} to COCO file" : $"Write {MaskExporter.GroupName(group)} masks of {result.FileName}";
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
                        _host.Warning($"Skipped '{target}': it already exists (-NoClobber).");
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
        }
    }
}
