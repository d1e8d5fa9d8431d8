using System.Collections.Concurrent;
using System.Management.Automation.Runspaces;
using Cxas.Imaging;
using Cxas.Import;
using Cxas.Runs;

namespace Cxas.PowerShell;

/// <summary>
/// Segments files on other machines through PowerShell remoting: PSSessions (WinRM or SSH) are the transport, and
/// each node runs the Cxas installed there. In order:
/// <list type="number">
/// <item>every node is checked before any work: Cxas present, the same module version, the model present with the
/// same SHA-256 as here; a mismatch is one terminating error naming the node and the difference;</item>
/// <item>with -OutputPath, every input's output name is planned here and recorded in the output folder's journal
/// before its chunk is sent, so the nodes (which read the journal) write under the same names as a local run;</item>
/// <item>inputs are dealt in chunks to idle nodes (chunks shrink as the queue empties, so a slow node does not hold
/// the tail); results stream back as each node produces them, become live results again and gain PSComputerName;</item>
/// <item>a node that breaks or disconnects has the inputs of its chunk that produced no result and no error redone on
/// another node that has not tried them (outputs are atomic and planned, so a redo leaves each output once); an input
/// no node could finish is reported once. Stopping the pipeline stops every node.</item>
/// </list>
/// </summary>
internal sealed class RemoteSegmentationRun : IDisposable
{
    private const string NodeScript = @"
param([string[]] $Files, [string] $Model, [string] $Device, [string] $OutputPath, [string[]] $OutputType, [bool] $Force, [bool] $NoClobber, [bool] $SkipFinished)
Import-Module Cxas -ErrorAction Stop
$p = @{ LiteralPath = $Files; Device = $Device; WarningAction = 'SilentlyContinue' }
if ($Model) { $p.Model = $Model }
# The names were planned (and the folder is owned) by the session that sent the files: the variable tells the cmdlet
# (a variable, not a parameter, so that nothing hidden shows in the cmdlet's syntax).
if ($OutputPath) { $p.OutputPath = $OutputPath; $p.OutputType = $OutputType; $CxasOutputPlannedByCoordinator = $true }
if ($Force) { $p.Force = $true }
if ($NoClobber) { $p.NoClobber = $true }
if ($SkipFinished) { $p.SkipFinished = $true }
# Results go back in batches of up to 8: each remoting message costs tens of milliseconds over SSH, whatever its size.
$batch = [System.Collections.Generic.List[object]]::new()
Invoke-CxasSegmentation @p | ForEach-Object { $batch.Add($_); if ($batch.Count -ge 8) { ,$batch.ToArray(); $batch.Clear() } }
if ($batch.Count -gt 0) { ,$batch.ToArray() }";

    private const string CheckScript = @"
param([string] $Model)
$m = Import-Module Cxas -PassThru -ErrorAction Stop
$entry = if ($Model) { Get-CxasModel -Name $Model -ErrorAction SilentlyContinue | Select-Object -First 1 } else { Get-CxasModel | Where-Object IsDefault | Select-Object -First 1 }
$sha = if ($entry) { (Get-FileHash -Algorithm SHA256 -LiteralPath (Join-Path $entry.Directory 'model.onnx')).Hash.ToLowerInvariant() } else { $null }
[pscustomobject] @{ Version = $m.Version.ToString(); ModelSha = $sha }";

    private sealed class Node
    {
        public Node(PSSession session) { Session = session; Name = session.ComputerName + (session.Name != null ? "/" + session.Name : ""); }
        public PSSession Session { get; }
        public string Name { get; }
        public bool Alive = true;
        public System.Management.Automation.PowerShell? Pipeline;
        public IAsyncResult? Pending;
        public List<InputFile> Chunk = new List<InputFile>();
        public int Done;
    }

    private readonly CxasCmdlet _cmdlet;
    private readonly List<Node> _nodes;
    private readonly int _throttle;
    private readonly string? _model;
    private readonly string _device;
    private readonly string? _outputPath;
    private readonly string[] _outputTypes;
    private readonly bool _force, _noClobber, _skipFinished;
    // The planning side of a Core run: names planned and recorded here, before the nodes write under them.
    private readonly MaskOutputs? _outputs;
    // Results as nodes produce them; a node whose pipeline ends adds (node, null), so the loop wakes at once.
    private readonly BlockingCollection<(Node Node, PSObject? Item)> _arrivals = new BlockingCollection<(Node, PSObject?)>();
    private volatile bool _stopping;

    public RemoteSegmentationRun(CxasCmdlet cmdlet, PSSession[] sessions, int throttleLimit, string? model, string device,
        string? outputPath, string[] outputTypes, bool force, bool noClobber, bool skipFinished)
    {
        _cmdlet = cmdlet;
        _nodes = sessions.Where(s => s != null).Select(s => new Node(s)).ToList();
        _throttle = Math.Max(1, throttleLimit);
        _model = model;
        _device = device;
        _outputPath = string.IsNullOrEmpty(outputPath) ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(outputPath);
        _outputTypes = outputTypes;
        _force = force;
        _noClobber = noClobber;
        _skipFinished = skipFinished;
        CheckNodes();
        if (_outputPath != null)
        {
            try
            {
                _outputs = new MaskOutputs(_outputPath, outputTypes.Select(CxasCmdlet.Configuration.Writers.ParseFormat),
                    FileSegmentationRun.WritePolicyOf(force, noClobber), null, new CmdletRunHost(cmdlet, null));
            }
            catch (CxasException ex) { cmdlet.ThrowTerminatingError(CxasCmdlet.ToErrorRecord(ex, _outputPath)); }
        }
    }

    /// <summary>Version and model of every node against this session's; any difference stops the run before work.</summary>
    private void CheckNodes()
    {
        var local = _cmdlet.ResolveModel(_model);
        var version = typeof(RemoteSegmentationRun).Assembly.GetName().Version;
        var localVersion = version == null ? "" : $"{version.Major}.{version.Minor}.{version.Build}";
        var localSha = ModelImporter.Sha256(local.OnnxPath).ToLowerInvariant();
        var shown = string.IsNullOrEmpty(_model) ? local.Name : _model;
        foreach (var node in _nodes)
        {
            string? why = null;
            try
            {
                using var ps = System.Management.Automation.PowerShell.Create();
                ps.Runspace = node.Session.Runspace;
                ps.AddScript(CheckScript).AddArgument(_model ?? "");
                var answer = ps.Invoke().FirstOrDefault();
                if (ps.HadErrors || answer == null)
                    why = "Cxas cannot be imported there: " + (ps.Streams.Error.FirstOrDefault()?.ToString() ?? "no answer");
                else
                {
                    var theirs = answer.Properties["Version"]?.Value?.ToString() ?? "";
                    var sha = answer.Properties["ModelSha"]?.Value?.ToString();
                    var wanted = VersionPrefix(theirs);
                    if (wanted != localVersion) why = $"it has Cxas {theirs}, this session {localVersion}";
                    else if (sha == null) why = $"it does not have the model '{shown}'";
                    else if (sha != localSha) why = $"its model '{shown}' differs (SHA-256 {sha.Substring(0, 12)}... there, {localSha.Substring(0, 12)}... here)";
                }
            }
            catch (Exception ex) when (!(ex is PipelineStoppedException))
            {
                why = "it cannot be reached: " + ex.Message;
            }
            if (why != null)
                _cmdlet.ThrowTerminatingError(new ErrorRecord(new CxasException(CxasErrorKind.InvalidArgument,
                    $"Node '{node.Name}' cannot take part: {why}. Nothing was sent to any node.", node.Name), "Cxas.NodeMismatch",
                    ErrorCategory.InvalidArgument, node.Name));
        }
    }

    private static string VersionPrefix(string v)
    {
        var parts = v.Split('.');
        return string.Join(".", parts.Take(3));
    }

    /// <summary>Runs every input on the nodes; yields live results (with PSComputerName) as they arrive.</summary>
    public IEnumerable<PSObject> Run(IReadOnlyList<InputFile> inputs)
    {
        var pending = new List<InputFile>(inputs);
        var tried = new Dictionary<string, HashSet<Node>>(StringComparer.Ordinal);
        var finished = new HashSet<string>(StringComparer.Ordinal);
        var redo = new HashSet<string>(StringComparer.Ordinal);
        var progress = new ProgressTracker(_cmdlet, $"Invoke-CxasSegmentation on {_nodes.Count} node(s)") { Total = inputs.Count };
        int total = inputs.Count;
        while (!_stopping)
        {
            foreach (var node in _nodes.Where(n => n.Alive && n.Pipeline == null))
            {
                if (_nodes.Count(n => n.Pipeline != null) >= _throttle) break;
                var eligible = pending.Where(i => !tried.TryGetValue(i.Path, out var t) || !t.Contains(node)).ToList();
                if (eligible.Count == 0) continue;
                int alive = Math.Max(1, _nodes.Count(n => n.Alive));
                int size = Math.Max(1, Math.Min(Math.Max(1, total / (alive * 4)), (pending.Count + alive - 1) / alive));
                var chunk = eligible.Take(Math.Min(size, 16)).ToList();
                foreach (var i in chunk)
                {
                    pending.Remove(i);
                    if (!tried.TryGetValue(i.Path, out var t)) tried[i.Path] = t = new HashSet<Node>();
                    t.Add(node);
                }
                Start(node, chunk, chunk.Any(i => redo.Contains(i.Path)));
            }
            if (_nodes.All(n => n.Pipeline == null))
            {
                foreach (var i in pending)
                    _cmdlet.WriteFileError(new CxasException(CxasErrorKind.Device,
                        $"'{i.Path}' was not segmented: every node that could take it failed or disconnected.", i.Path), i.Path);
                break;
            }
            if (_arrivals.TryTake(out var arrival, 100) && arrival.Item != null)
            {
                var batch = arrival.Item.BaseObject is System.Collections.IEnumerable list && !(arrival.Item.BaseObject is string)
                    ? list.Cast<object>().Select(PSObject.AsPSObject) : new[] { arrival.Item };
                foreach (var item in batch)
                {
                    var result = ResultTransferConverter.Rehydrate(item);
                    if (result == null) continue;
                    finished.Add(result.Path);
                    arrival.Node.Done++;
                    progress.Step(result.Path);
                    var pso = PSObject.AsPSObject(result);
                    pso.Properties.Add(new PSNoteProperty("PSComputerName", arrival.Node.Session.ComputerName));
                    yield return pso;
                }
                continue;
            }
            foreach (var node in _nodes.Where(n => n.Pipeline != null && n.Pending!.IsCompleted && !_arrivals.Any(a => a.Item != null)).ToList())
            {
                bool broken = Finish(node, finished);
                foreach (var i in node.Chunk.Where(i => !finished.Contains(i.Path)))
                {
                    if (broken) { pending.Add(i); redo.Add(i.Path); }
                    else progress.Step(i.Path);
                }
                node.Chunk = new List<InputFile>();
            }
        }
        progress.Complete();
    }

    private void Start(Node node, List<InputFile> chunk, bool redo)
    {
        if (_outputs != null)
            foreach (var i in chunk) _outputs.Reserve(i);
        var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = node.Session.Runspace;
        ps.AddScript(NodeScript)
          .AddParameter("Files", chunk.Select(i => i.Path).ToArray())
          .AddParameter("Model", _model ?? "")
          .AddParameter("Device", _device)
          .AddParameter("OutputPath", _outputPath ?? "")
          .AddParameter("OutputType", _outputTypes)
          // A redone input may have been written by the node that broke: write it again, in place (atomically).
          .AddParameter("Force", _force || redo)
          .AddParameter("NoClobber", _noClobber && !redo)
          .AddParameter("SkipFinished", _skipFinished);
        var output = new PSDataCollection<PSObject>();
        output.DataAdded += (sender, e) =>
        {
            var item = ((PSDataCollection<PSObject>)sender)[e.Index];
            _arrivals.Add((node, item));
        };
        ps.InvocationStateChanged += (sender, e) =>
        {
            var state = e.InvocationStateInfo.State;
            if (state == PSInvocationState.Completed || state == PSInvocationState.Failed || state == PSInvocationState.Stopped)
                _arrivals.Add((node, null));
        };
        node.Chunk = chunk;
        node.Pipeline = ps;
        node.Pending = ps.BeginInvoke<PSObject, PSObject>(null, output);
    }

    /// <summary>Collects a node's finished chunk: its per-file errors are written; true when the node itself broke.</summary>
    private bool Finish(Node node, HashSet<string> finished)
    {
        var ps = node.Pipeline!;
        bool broken = false;
        try { ps.EndInvoke(node.Pending!); }
        catch (Exception ex) when (!(ex is PipelineStoppedException))
        {
            broken = true;
            _cmdlet.WriteWarning($"Node '{node.Name}' failed ({ex.Message.Trim()}); its unfinished inputs go to the other nodes.");
        }
        if (node.Session.Runspace.RunspaceStateInfo.State != RunspaceState.Opened)
        {
            if (!broken) _cmdlet.WriteWarning($"Node '{node.Name}' disconnected; its unfinished inputs go to the other nodes.");
            broken = true;
        }
        if (!broken)
            foreach (var error in ps.Streams.Error)
            {
                var target = error.TargetObject?.ToString();
                if (target != null) finished.Add(target);
                _cmdlet.WriteError(new ErrorRecord(error.Exception, error.FullyQualifiedErrorId.Split(',')[0], error.CategoryInfo.Category, error.TargetObject)
                {
                    ErrorDetails = new ErrorDetails($"{node.Session.ComputerName}: {error}"),
                });
            }
        node.Alive = !broken;
        ps.Dispose();
        node.Pipeline = null;
        node.Pending = null;
        return broken;
    }

    /// <summary>Stops every node's pipeline (Ctrl+C).</summary>
    public void Stop()
    {
        _stopping = true;
        foreach (var node in _nodes)
            try { node.Pipeline?.Stop(); } catch (Exception) { }
    }

    public void Dispose() => _outputs?.Dispose();
}
