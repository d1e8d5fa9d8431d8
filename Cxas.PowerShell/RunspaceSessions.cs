using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using Cxas.Inference;

namespace Cxas.PowerShell;

/// <summary>
/// The ONNX sessions of each PowerShell runspace: one owner (<see cref="ModelSessions"/>) per runspace, made at its first
/// segmentation, so a second run in the same session does not load the model again; disposed when the runspace closes
/// or the module is removed from it (<see cref="ModuleInitializer.OnRemove"/>). Keyed by runspace, weakly, so that two
/// runspaces of one process (thread jobs, ForEach-Object -Parallel, a host with several) never share or dispose each
/// other's sessions.
/// </summary>
internal static class RunspaceSessions
{
    private static readonly ConditionalWeakTable<Runspace, ModelSessions> ByRunspace = new ConditionalWeakTable<Runspace, ModelSessions>();

    /// <summary>The sessions of the runspace this thread runs (a cmdlet's pipeline thread).</summary>
    public static ModelSessions Current
    {
        get
        {
            var runspace = Runspace.DefaultRunspace
                ?? throw new InvalidOperationException("Cxas cmdlets run in a PowerShell runspace.");
            lock (ByRunspace)
            {
                if (ByRunspace.TryGetValue(runspace, out var sessions)) return sessions;
                sessions = new ModelSessions();
                ByRunspace.Add(runspace, sessions);
                runspace.StateChanged += OnStateChanged;
                return sessions;
            }
        }
    }

    /// <summary>Disposes <paramref name="runspace"/>'s sessions, if it has any; its next run makes new ones.</summary>
    public static void Release(Runspace? runspace)
    {
        if (runspace == null) return;
        ModelSessions? sessions;
        lock (ByRunspace)
        {
            if (!ByRunspace.TryGetValue(runspace, out sessions)) return;
            ByRunspace.Remove(runspace);
            runspace.StateChanged -= OnStateChanged;
        }
        sessions.Dispose();
    }

    private static void OnStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (e.RunspaceStateInfo.State == RunspaceState.Closed || e.RunspaceStateInfo.State == RunspaceState.Broken)
            Release(sender as Runspace);
    }
}
