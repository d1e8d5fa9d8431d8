using Cxas.Dimse;

namespace Cxas.PowerShell;

/// <summary>What Test-CxasDicomNode found: whether the node answered C-ECHO, and how fast. Immutable.</summary>
public sealed class DicomNodeStatus
{
    public string ComputerName { get; internal init; } = "";
    public int Port { get; internal init; }
    public string CalledAETitle { get; internal init; } = "";
    public string CallingAETitle { get; internal init; } = "";
    public bool Success { get; internal init; }
    /// <summary>The C-ECHO round trip in milliseconds (association set-up excluded); null when it failed.</summary>
    public double? RoundTripMs { get; internal init; }
    /// <summary>Why it failed (rejected association, unreachable host, ...); null on success.</summary>
    public string? Message { get; internal init; }
}

/// <include file="Help/Text/Test-CxasDicomNode.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsDiagnostic.Test, "CxasDicomNode"), OutputType(typeof(DicomNodeStatus), typeof(bool))]
public sealed class TestCxasDicomNodeCommand : CxasCmdlet, IDynamicParameters
{
    /// <summary>Seconds to wait for the connection, the association and the answer (default 30).</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    /// <summary>Emit only $true or $false.</summary>
    [Parameter] public SwitchParameter Quiet { get; set; }

    private readonly DimseParameters _connection = new DimseParameters();

    /// <summary>The node: -ComputerName, -Port, -CalledAETitle, -CallingAETitle (see <see cref="DimseParameters"/>).</summary>
    public object GetDynamicParameters() => _connection;

    protected override void EndProcessing()
    {
        if (!_connection.UsesDimse)
            ThrowTerminatingError(ToErrorRecord(new CxasException(CxasErrorKind.InvalidArgument, "Give -ComputerName and -CalledAETitle: the node to test."), null));
        var client = _connection.OpenDimse(this, TimeSpan.FromSeconds(TimeoutSec));
        WriteVerbose($"C-ECHO to {client.Peer} as {client.Peer.CallingAe}.");
        double? roundTrip = null;
        string? failure = null;
        try
        {
            roundTrip = Math.Round(client.Echo().TotalMilliseconds, 3);
        }
        catch (CxasException ex)
        {
            failure = ex.Message;
            WriteVerbose(ex.Message);
        }
        var status = new DicomNodeStatus
        {
            ComputerName = _connection.ComputerName!, Port = _connection.Port, CalledAETitle = client.Peer.CalledAe, CallingAETitle = client.Peer.CallingAe,
            Success = failure == null, RoundTripMs = roundTrip, Message = failure,
        };
        WriteObject(Quiet ? status.Success : (object)status);
    }
}
