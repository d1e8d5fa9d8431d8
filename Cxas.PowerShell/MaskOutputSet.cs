using Cxas.Export;
using Cxas.Imaging;

namespace Cxas.PowerShell;

/// <summary>
/// The mask outputs of one cmdlet invocation: one output plan (with its journal in the output folder) and the
/// writers of every output type, with ShouldProcess, -Force and -NoClobber applied to every write. Without -Force,
/// an input whose outputs the plan already holds is finished and skipped; run-level files (COCO) are completed at the
/// end or discarded if the run stops.
/// </summary>
internal sealed class MaskOutputSet : IDisposable
{
    private readonly PSCmdlet _cmdlet;
    private readonly OutputPlan _plan;
    private readonly MaskExporter _exporter;
    private readonly bool _force;
    private readonly bool _noClobber;
    private readonly bool _canSkipInputs;
    private bool _cocoDeclined;

    public MaskOutputSet(PSCmdlet cmdlet, string outputDirectory, IEnumerable<string> formats, bool force, bool noClobber, IReadOnlyList<string>? labels)
    {
        _cmdlet = cmdlet;
        _force = force && !noClobber;
        _noClobber = noClobber;
        var parsed = formats.Select(MaskExporter.ParseFormat).Distinct().ToList();
        _plan = new OutputPlan(outputDirectory, useJournal: true);
        _exporter = new MaskExporter(_plan, parsed, _force, labels);
        // A COCO file collects the whole run, so with json asked for every input is segmented again.
        _canSkipInputs = !_force && !parsed.Contains(MaskFormat.Json);
    }

    /// <summary>
    /// Whether every output of an input already exists (written by an earlier run of this plan, or, with -NoClobber,
    /// by anyone): the input need not even be decoded.
    /// </summary>
    public bool IsFinished(InputFile input)
    {
        if (!_canSkipInputs) return false;
        var planned = _plan.Plan(input.Path, input.RelativePath);
        return _exporter.Groups.All(group => group.All(f => OutputPlan.IsFinished(planned, f) ||
            (_noClobber && Exists(planned.TargetFor(f)))));
    }

    private static bool Exists(string target) => File.Exists(target) || Directory.Exists(target);

    /// <summary>Writes every output of one result; failures become non-terminating errors naming the file.</summary>
    public IEnumerable<MaskExportRecord> Write(SegmentationResult result)
    {
        var records = new List<MaskExportRecord>();
        PlannedInput planned;
        try { planned = _exporter.PlanFor(result); }
        catch (CxasException ex)
        {
            _cmdlet.WriteError(CxasCmdlet.ToErrorRecord(ex, result.Path));
            return records;
        }
        foreach (var group in _exporter.Groups)
        {
            var target = planned.TargetFor(group[0]);
            bool runLevel = group[0] == MaskFormat.Json;
            try
            {
                if (runLevel && _cocoDeclined) continue;
                if (!runLevel && !_force && group.All(f => OutputPlan.IsFinished(planned, f)))
                {
                    _cmdlet.WriteVerbose($"'{target}' is already written (use -Force to write it again).");
                    continue;
                }
                if (_noClobber && !runLevel && Exists(target) && !planned.Recorded)
                {
                    _cmdlet.WriteWarning($"Skipped '{target}': it already exists (-NoClobber).");
                    continue;
                }
                var action = runLevel ? $"Add {result.FileName} to COCO file" : $"Write {MaskExporter.GroupName(group)} masks of {result.FileName}";
                if (!_cmdlet.ShouldProcess(target, action))
                {
                    if (runLevel) _cocoDeclined = true;
                    continue;
                }
                records.AddRange(_exporter.ExportGroup(result, planned, group));
            }
            // A host that cannot prompt for -Confirm stops the command, as it does PowerShell's own cmdlets.
            catch (Exception ex) when (!(ex is PipelineStoppedException) && !(ex is PSInvalidOperationException) &&
                                       !(ex is System.Management.Automation.Host.HostException))
            {
                if (runLevel && ex is CxasException cx && cx.Kind == CxasErrorKind.AlreadyExists && _noClobber)
                {
                    _cmdlet.WriteWarning($"Skipped '{target}': it already exists (-NoClobber).");
                    _cocoDeclined = true;
                    continue;
                }
                if (runLevel && ex is CxasException) _cocoDeclined = true;
                _cmdlet.WriteError(CxasCmdlet.ToErrorRecord(ex, result.Path));
            }
        }
        return records;
    }

    /// <summary>Completes run-level outputs.</summary>
    public IEnumerable<MaskExportRecord> Complete()
    {
        var records = new List<MaskExportRecord>();
        try
        {
            var record = _exporter.Complete();
            if (record != null) records.Add(record);
        }
        catch (Exception ex) when (!(ex is PipelineStoppedException))
        {
            _cmdlet.WriteError(CxasCmdlet.ToErrorRecord(ex, null));
        }
        return records;
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _plan.Dispose();
    }
}
