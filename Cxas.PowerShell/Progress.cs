using System.Diagnostics;
using System.Threading;

namespace Cxas.PowerShell;

/// <summary>
/// Write-Progress for one activity of one cmdlet, throttled to four updates a second. Two shapes:
/// <list type="bullet">
/// <item>items (<see cref="Step"/>): a count, the current file and, when the total is known, a percentage and an ETA;</item>
/// <item>stages (<see cref="Stage"/>): a stage name, a detail and a percentage, for one long operation (import, download).</item>
/// </list>
/// Every tracker gets an activity id of its own from one counter, so nested or concurrent activities never share one.
/// </summary>
internal sealed class ProgressTracker
{
    private static int _lastActivityId;

    private readonly Cmdlet _cmdlet;
    private readonly string _activity;
    private readonly int _activityId = Interlocked.Increment(ref _lastActivityId);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastShownMs = -1000;
    private string _lastStage = "";
    private bool _shown;

    public ProgressTracker(Cmdlet cmdlet, string activity)
    {
        _cmdlet = cmdlet;
        _activity = activity;
    }

    public int Done { get; private set; }

    private int _total;

    /// <summary>Total when known (0 = unknown: files arrive through the pipeline). Another thread may set it, e.g. a
    /// count of a folder tree that finishes listing while the run goes on.</summary>
    public int Total
    {
        get => Volatile.Read(ref _total);
        set => Volatile.Write(ref _total, value);
    }

    public void Step(string currentFile)
    {
        Done++;
        if (!Due(force: false)) return;
        int total = Total;
        var record = new ProgressRecord(_activityId, _activity,
            total > 0 ? $"{Done} of {total}: {Path.GetFileName(currentFile)}" : $"{Done} done: {Path.GetFileName(currentFile)}");
        if (total > 0 && Done <= total)
        {
            record.PercentComplete = (int)(100L * Done / total);
            double perItem = _clock.ElapsedMilliseconds / 1000.0 / Math.Max(1, Done);
            record.SecondsRemaining = (int)Math.Round(perItem * (total - Done));
        }
        Show(record);
    }

    /// <summary>One stage of a long operation; a new stage is always shown, progress within one is throttled.</summary>
    public void Stage(string stage, string? detail, int percent, int secondsRemaining = -1)
    {
        if (!Due(force: stage != _lastStage)) return;
        _lastStage = stage;
        Show(new ProgressRecord(_activityId, _activity, stage)
        {
            CurrentOperation = detail,
            PercentComplete = Math.Max(-1, Math.Min(100, percent)),
            SecondsRemaining = secondsRemaining,
        });
    }

    public void Complete()
    {
        if (!_shown) return;
        _cmdlet.WriteProgress(new ProgressRecord(_activityId, _activity, "Done") { RecordType = ProgressRecordType.Completed });
        _shown = false;
    }

    private bool Due(bool force)
    {
        long now = _clock.ElapsedMilliseconds;
        if (!force && now - _lastShownMs < 250) return false;
        _lastShownMs = now;
        return true;
    }

    private void Show(ProgressRecord record)
    {
        _cmdlet.WriteProgress(record);
        _shown = true;
    }
}
