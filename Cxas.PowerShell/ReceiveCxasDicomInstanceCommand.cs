using System.Collections.Concurrent;
using System.Net;
using Cxas.DicomWeb;
using Cxas.Dimse;

namespace Cxas.PowerShell;

/// <include file="Help/Text/Receive-CxasDicomInstance.xml" path="doc/cmdlet/*" />
[Cmdlet(VerbsCommunications.Receive, "CxasDicomInstance"), OutputType(typeof(DicomInstance))]
public sealed class ReceiveCxasDicomInstanceCommand : CxasCmdlet
{
    /// <summary>The TCP port to listen on (default 11112; open it in the firewall for the senders).</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, 65535)]
    public int Port { get; set; } = 11112;

    /// <summary>Cxas' AE title: senders must call it (default CXAS).</summary>
    [Parameter] public string AETitle { get; set; } = "CXAS";

    /// <summary>Calling AE titles allowed to send (default: any).</summary>
    [Parameter] public string[]? AllowedAETitle { get; set; }

    /// <summary>Hosts (names or addresses) allowed to connect (default: any).</summary>
    [Parameter] public string[]? AllowedHost { get; set; }

    /// <summary>The address to listen on (default: all; 127.0.0.1 for this machine only).</summary>
    [Parameter] public string? ListenAddress { get; set; }

    /// <summary>
    /// The spool folder: each instance is written here before it is acknowledged, and moved to its processed subfolder
    /// when emitted; a restart first emits what is still here (default: Cxas/spool/&lt;AETitle&gt; under the local
    /// application data folder).
    /// </summary>
    [Parameter] public string? SpoolPath { get; set; }

    /// <summary>Stop after this many instances.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; }

    /// <summary>Stop listening after this many seconds (default: until Ctrl+C or -Count).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Timeout { get; set; }

    /// <summary>Associations served at once (default 8); more are rejected as a transient local limit.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int MaxAssociations { get; set; } = 8;

    private DimseStorageScp? _scp;
    private readonly ConcurrentQueue<string> _log = new ConcurrentQueue<string>();
    private volatile bool _stopping;

    protected override void EndProcessing()
    {
        var spool = SpoolPath != null ? GetUnresolvedProviderPathFromPSPath(SpoolPath)
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "Cxas", "spool", AETitle);
        try
        {
            _scp = new DimseStorageScp(new StorageScpOptions
            {
                Port = Port, AeTitle = AETitle, SpoolDirectory = spool, MaxAssociations = MaxAssociations, Log = _log.Enqueue,
                Address = ListenAddress != null ? ParseAddress(ListenAddress) : IPAddress.Any,
                AllowedCallingAe = AllowedAETitle, AllowedHosts = AllowedHost?.SelectMany(Resolve).ToList(),
            });
        }
        catch (CxasException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, spool));
        }
        var scp = _scp!;
        var pending = scp.Pending();
        try { scp.Start(); }
        catch (CxasException ex) { ThrowTerminatingError(ToErrorRecord(ex, Port)); }
        WriteVerbose($"Listening on port {scp.Port} as {AETitle}; spool {spool}; {pending.Count} instance(s) from before.");
        var deadline = Timeout > 0 ? DateTime.UtcNow.AddSeconds(Timeout) : DateTime.MaxValue;
        int emitted = 0;
        try
        {
            // What an earlier run received and did not hand on comes first, then what arrives, as it is acknowledged.
            foreach (var path in pending)
            {
                if (Done(emitted, deadline)) return;
                if (Emit(scp, path)) emitted++;
            }
            while (!Done(emitted, deadline))
            {
                Flush();
                if (scp.Received.TryTake(out var received, 200) && Emit(scp, received.Path)) emitted++;
            }
        }
        finally
        {
            scp.Stop();
            Flush();
            WriteVerbose($"Stopped after {emitted} instance(s).");
        }
    }

    private bool Done(int emitted, DateTime deadline) => _stopping || (Count > 0 && emitted >= Count) || DateTime.UtcNow >= deadline;

    /// <summary>Moves the file to processed/ and emits it as an instance; an unreadable file is an error naming it.</summary>
    private bool Emit(DimseStorageScp scp, string path)
    {
        DicomInstance instance;
        try
        {
            instance = DimseStorageScp.Describe(scp.MarkProcessed(path));
        }
        catch (CxasException ex)
        {
            WriteFileError(ex, path);
            return false;
        }
        catch (IOException ex)
        {
            WriteFileError(ex, path);
            return false;
        }
        WriteObject(instance);
        return true;
    }

    private void Flush()
    {
        while (_log.TryDequeue(out var message)) WriteVerbose(message);
    }

    private IPAddress ParseAddress(string text) => IPAddress.TryParse(text, out var a) ? a
        : throw new CxasException(CxasErrorKind.InvalidArgument, $"-ListenAddress '{text}' is not an IP address.");

    private static IEnumerable<IPAddress> Resolve(string host)
    {
        if (IPAddress.TryParse(host, out var a)) return new[] { a };
        try { return Dns.GetHostAddresses(host); }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new CxasException(CxasErrorKind.InvalidArgument, $"-AllowedHost '{host}' cannot be resolved: {ex.Message}", null, ex);
        }
    }

    protected override void StopProcessing()
    {
        _stopping = true;
        _scp?.Stop();
    }
}
