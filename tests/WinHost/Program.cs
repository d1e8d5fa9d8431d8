using System.Management.Automation;
using System.Management.Automation.Runspaces;

// The Windows leg's host: WinHost <script.ps1> [argument...] runs the script in a runspace with PowerShell's default
// modules (InitialSessionState.CreateDefault: CreateDefault2 lacks Get-ChildItem here) and writes every stream to the
// console as it comes. The exit code is 0 only when the script neither threw nor wrote an error; a script may set its
// own with `exit N` ($LASTEXITCODE).
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: WinHost <script.ps1> [argument...]");
    return 2;
}
var state = InitialSessionState.CreateDefault();
state.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
using var runspace = RunspaceFactory.CreateRunspace(state);
runspace.Open();
using var ps = PowerShell.Create();
ps.Runspace = runspace;

var errors = 0;
ps.Streams.Error.DataAdded += (_, e) => { errors++; Console.Error.WriteLine("ERROR: " + ps.Streams.Error[e.Index]); };
ps.Streams.Warning.DataAdded += (_, e) => Console.WriteLine("WARNING: " + ps.Streams.Warning[e.Index].Message);
ps.Streams.Verbose.DataAdded += (_, e) => Console.WriteLine("VERBOSE: " + ps.Streams.Verbose[e.Index].Message);
ps.Streams.Information.DataAdded += (_, e) => Console.WriteLine(ps.Streams.Information[e.Index].MessageData);
var output = new PSDataCollection<PSObject>();
output.DataAdded += (_, e) => Console.WriteLine(output[e.Index]);

// The script, then its output as the console would show it.
ps.AddCommand(Path.GetFullPath(args[0]));
foreach (var a in args.Skip(1)) ps.AddArgument(a);
ps.AddCommand("Out-String").AddParameter("Stream");
try
{
    ps.Invoke(null, output);
}
catch (RuntimeException ex)
{
    Console.Error.WriteLine("TERMINATED: " + ex.ErrorRecord);
    Console.Error.WriteLine(ex.ErrorRecord.ScriptStackTrace);
    return 1;
}
var exit = runspace.SessionStateProxy.GetVariable("LASTEXITCODE");
if (exit is int code && code != 0) return code;
return errors == 0 && !ps.HadErrors ? 0 : 1;
