// Pipeline benchmark: runs decode -> segment -> PNG mask export over a folder and prints images/s,
// time per stage and peak memory. Usage: Cxas.Bench [folder-or-image] [--model DIR] [--out DIR] [--no-write]
// Without a folder it generates 40 synthetic 2048x2048 chest-like PNGs in a temp folder.
using System.Diagnostics;
using Cxas.Export;
using Cxas.Imaging;
using Cxas.Models;
using Cxas.Runs;
using Cxas.Segmentation;

string? input = null, modelDir = null, outDir = null;
bool write = true, warmUp = true, keep = false;
int count = 40, size = 2048;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--model": modelDir = args[++i]; break;
        case "--out": outDir = args[++i]; break;
        case "--no-write": write = false; break;
        case "--no-warmup": warmUp = false; break; // whole-process timing (bench/side_by_side.py): no extra image
        case "--keep": keep = true; break;          // leave the masks in --out
        case "--count": count = int.Parse(args[++i]); break;
        case "--size": size = int.Parse(args[++i]); break;
        default: input = args[i]; break;
    }
}

var repo = AppContext.BaseDirectory;
while (!File.Exists(Path.Combine(repo, "Cxas.sln"))) repo = Path.GetDirectoryName(repo)!;
modelDir ??= Path.Combine(repo, "models", File.ReadAllText(Path.Combine(repo, "models", "default.txt")).Trim());

if (input == null)
{
    input = Path.Combine(Path.GetTempPath(), $"cxas-bench-{size}-{count}");
    if (!Directory.Exists(input) || Directory.GetFiles(input).Length < count)
    {
        Directory.CreateDirectory(input);
        Console.WriteLine($"Generating {count} synthetic {size}x{size} images in {input} ...");
        var rng = new Random(1);
        for (int n = 0; n < count; n++) Cxas.Bench.SyntheticChest.WritePng(Path.Combine(input, $"bench{n:000}.png"), size, rng);
    }
}

var files = Directory.Exists(input) ? Directory.GetFiles(input).Where(f => !Path.GetFileName(f).StartsWith('.')).OrderBy(f => f).ToList() : new List<string> { input };
outDir ??= Path.Combine(Path.GetTempPath(), "cxas-bench-out-" + Guid.NewGuid().ToString("N")[..6]);
var model = CxasModel.Load(modelDir);
var segmenter = new Segmenter(model, DeviceSpec.Cpu);
Console.WriteLine($"Model {model.Name} ({model.Labels.Count} classes, input {model.Manifest.Input.Width}x{model.Manifest.Input.Height}) on {segmenter.Device}; {files.Count} files; {CpuClass.Description}, {Environment.ProcessorCount} logical CPUs");

// Warm-up outside the measurement (session initialisation, JIT).
if (warmUp) segmenter.Segment(files[0]);

double decodeMs = 0, inferMs = 0, writeMs = 0;
long peak = 0;
// The run the cmdlets use (Cxas.Runs.SegmentationRun): queue, output plan with its journal, writes, in one type,
// so these figures are those of Invoke-CxasSegmentation -OutputPath without the PowerShell host.
var host = new ConsoleRunHost();
var options = new SegmentationRunOptions(model)
{
    Device = DeviceSpec.Cpu,
    OutputDirectory = write ? outDir : null,
    Formats = new[] { MaskFormat.Png },
    WritePolicy = WritePolicy.Overwrite,
    Activity = "Cxas.Bench",
};
var wall = Stopwatch.StartNew();
int done = 0;
using (var run = new SegmentationRun(options, host))
{
    void Take(SegmentationResult r)
    {
        decodeMs += r.DecodeMs;
        inferMs += r.InferenceMs;
        done++;
        peak = Math.Max(peak, Process.GetCurrentProcess().WorkingSet64);
    }
    foreach (var f in files) foreach (var r in run.Add(new InputFile(f))) Take(r);
    foreach (var r in run.Finish()) Take(r);
    wall.Stop();
    writeMs = run.WriteTime.TotalMilliseconds;
}
int failed = host.Failures;
peak = Math.Max(peak, Process.GetCurrentProcess().PeakWorkingSet64);

Console.WriteLine($"images: {done} ok, {failed} failed in {wall.Elapsed.TotalSeconds:F2} s -> {done / wall.Elapsed.TotalSeconds:F2} images/s");
Console.WriteLine($"per image: decode {decodeMs / Math.Max(1, done):F1} ms (overlapped), resize+inference+threshold {inferMs / Math.Max(1, done):F1} ms, " +
                  (write ? $"PNG masks ({model.Labels.Count} files, on the run's thread as in the cmdlet) {writeMs / Math.Max(1, done):F1} ms" : "no writing"));
Console.WriteLine($"peak working set: {peak / (1024.0 * 1024.0):F0} MiB");
if (write && !keep) Directory.Delete(outDir, true);

/// <summary>The run's callbacks for a console: every write confirmed, failures printed and counted.</summary>
sealed class ConsoleRunHost : IRunHost
{
    public int Failures;
    public bool ShouldProcess(string target, string action) => true;
    public bool WritesNothing => false;
    public bool Stopping => false;
    public void Verbose(string message) { }
    public void Warning(string message) => Console.WriteLine($"  warning: {message}");
    public string? Advice(Cxas.CxasRemedy remedy) => null;
    public void InputFailed(Exception error, string path) { Failures++; Console.WriteLine($"  error: {path}: {error.Message}"); }
    public void OutputFailed(Exception error, string? target) { Failures++; Console.WriteLine($"  export error: {target}: {error.Message}"); }
    public void Step(string path) { }
}
