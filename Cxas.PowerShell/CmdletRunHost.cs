using Cxas.Runs;

namespace Cxas.PowerShell;

/// <summary>
/// A Core run's callbacks in a cmdlet's terms: confirmation is ShouldProcess, messages go to the verbose and warning
/// streams, a failed input is a non-terminating error naming the file (refused credentials, which fail every input
/// alike, are one terminating error), and each input done is a progress step.
/// </summary>
internal sealed class CmdletRunHost : IRunHost
{
    private readonly CxasCmdlet _cmdlet;
    private readonly ProgressTracker? _progress;

    public CmdletRunHost(CxasCmdlet cmdlet, ProgressTracker? progress)
    {
        _cmdlet = cmdlet;
        _progress = progress;
    }

    public bool ShouldProcess(string target, string action) => _cmdlet.ShouldProcess(target, action);
    /// <summary>-WhatIf given, or $WhatIfPreference set: ShouldProcess will refuse every write.</summary>
    public bool WritesNothing =>
        _cmdlet.MyInvocation.BoundParameters.TryGetValue("WhatIf", out var given)
            ? LanguagePrimitives.IsTrue(given)
            : LanguagePrimitives.IsTrue(_cmdlet.SessionState.PSVariable.GetValue("WhatIfPreference"));
    public bool Stopping => _cmdlet.Stopping;
    public void Verbose(string message) => _cmdlet.WriteVerbose(message);
    public void Warning(string message) => _cmdlet.WriteWarning(message);
    public string? Advice(CxasRemedy remedy) => CxasCmdlet.Advice(remedy);

    public void InputFailed(Exception error, string path)
    {
        if (error is CxasException { Kind: CxasErrorKind.Unauthorized } denied)
            _cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(denied, path));
        _cmdlet.WriteFileError(error, path);
    }

    public void OutputFailed(Exception error, string? target) => _cmdlet.WriteError(CxasCmdlet.ToErrorRecord(error, target));

    public void Step(string path)
    {
        _progress?.Step(path);
        _cmdlet.FlushDicomWebMessages();
    }
}
