// Pipeline benchmark: runs decode -> segment -> PNG mask export over a folder and prints images/s,
// time per stage and peak memory. Usage: Cxas.Bench [folder-or-image] [--model DIR] [--out DIR] [--no-write]
// Without a folder it generates 40 synthetic 2048x2048 chest-like PNGs in a temp folder.
using System.Diagnostics;
using Cxas.Export;
using Cxas.Imaging;
using Cxas.Models;
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
using var exporter = new MaskExporter(outDir, MaskFormat.Png, overwrite: true);
// Export on its own thread (bounded queue) while the next images decode and infer.
double exportMs = 0;
using var worker = new ExportWorker(r =>
{
    var sw = Stopwatch.StartNew();
    var records = exporter.Export(r);
    lock (exporter) exportMs += sw.Elapsed.TotalMilliseconds;
    return records;
});
var queue = new SegmentationQueue(segmenter);
var wall = Stopwatch.StartNew();
int done = 0, failed = 0;
void Take(SegmentationOutcome o)
{
    if (o.Result == null) { failed++; Console.WriteLine($"  error: {o.Error!.Message}"); return; }
    decodeMs += o.Result.DecodeMs;
    inferMs += o.Result.InferenceMs;
    if (write)
    {
        worker.Add(o.Result);
        // Outcomes are taken as they finish, so nothing keeps written results alive.
        foreach (var e in worker.TakeCompleted()) if (e.Error != null) { failed++; Console.WriteLine($"  export error: {e.Error.Message}"); }
    }
    done++;
    peak = Math.Max(peak, Process.GetCurrentProcess().WorkingSet64);
}
foreach (var f in files) foreach (var o in queue.Submit(f)) Take(o);
SegmentationOutcome? last;
while ((last = queue.TakeNext()) != null) Take(last);
foreach (var e in worker.Complete()) if (e.Error != null) { failed++; Console.WriteLine($"  export error: {e.Error.Message}"); }
writeMs = exportMs;
wall.Stop();
peak = Math.Max(peak, Process.GetCurrentProcess().PeakWorkingSet64);

Console.WriteLine($"images: {done} ok, {failed} failed in {wall.Elapsed.TotalSeconds:F2} s -> {done / wall.Elapsed.TotalSeconds:F2} images/s");
Console.WriteLine($"per image: decode {decodeMs / Math.Max(1, done):F1} ms (overlapped), resize+inference+threshold {inferMs / Math.Max(1, done):F1} ms, " +
                  (write ? $"PNG masks ({model.Labels.Count} files, own thread) {writeMs / Math.Max(1, done):F1} ms" : "no writing"));
Console.WriteLine($"peak working set: {peak / (1024.0 * 1024.0):F0} MiB");
if (write && !keep) Directory.Delete(outDir, true);
