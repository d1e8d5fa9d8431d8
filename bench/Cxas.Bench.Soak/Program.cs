// Soak benchmark: a long unattended run through the same pieces the cmdlets use (folder scan, output plan with its
// journal, png + npz export, the overlapped segmentation queue), printing every 100 images the managed memory left
// after a full collection and the process's resident set, so growth over the run is visible.
// Usage: Cxas.Bench.Soak [--count 1000] [--size 2048] [--distinct 20] [--model DIR] [--keep]
// The inputs are --count links to --distinct generated radiographs (each input is its own path, as in an archive).
using System.Diagnostics;
using Cxas.Export;
using Cxas.Imaging;
using Cxas.Models;
using Cxas.Segmentation;

int count = 1000, size = 2048, distinct = 20;
string? modelDir = null;
bool keep = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--count": count = int.Parse(args[++i]); break;
        case "--size": size = int.Parse(args[++i]); break;
        case "--distinct": distinct = int.Parse(args[++i]); break;
        case "--model": modelDir = args[++i]; break;
        case "--keep": keep = true; break;
        default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
    }
}

var repo = AppContext.BaseDirectory;
while (!File.Exists(Path.Combine(repo, "Cxas.sln"))) repo = Path.GetDirectoryName(repo)!;
modelDir ??= Path.Combine(repo, "models", File.ReadAllText(Path.Combine(repo, "models", "default.txt")).Trim());

var sources = Path.Combine(Path.GetTempPath(), $"cxas-soak-src-{size}-{distinct}");
if (!Directory.Exists(sources) || Directory.GetFiles(sources).Length < distinct)
{
    Directory.CreateDirectory(sources);
    Console.WriteLine($"Generating {distinct} synthetic {size}x{size} radiographs in {sources} ...");
    var rng = new Random(1);
    for (int n = 0; n < distinct; n++) Cxas.Bench.SyntheticChest.WritePng(Path.Combine(sources, $"chest{n:000}.png"), size, rng);
}
var work = Path.Combine(Path.GetTempPath(), "cxas-soak-" + Guid.NewGuid().ToString("N")[..6]);
var input = Path.Combine(work, "in");
var output = Path.Combine(work, "out");
Directory.CreateDirectory(input);
for (int n = 0; n < count; n++)
    File.CreateSymbolicLink(Path.Combine(input, $"soak{n:0000}.png"), Path.Combine(sources, $"chest{n % distinct:000}.png"));

var model = CxasModel.Load(modelDir);
var segmenter = new Segmenter(model, DeviceSpec.Cpu);
Console.WriteLine($"Model {model.Name} ({model.Labels.Count} classes) on {segmenter.Device}; {count} inputs of {size}x{size}; png + npz to {output}; {Cxas.Models.CpuClass.Description}, {Environment.ProcessorCount} logical CPUs");

var process = Process.GetCurrentProcess();
using var plan = new OutputPlan(output, useJournal: true);
using var exporter = new MaskExporter(plan, new[] { MaskFormat.Png, MaskFormat.Npz }, overwrite: false);
var queue = new SegmentationQueue(segmenter);
var wall = Stopwatch.StartNew();
int done = 0, failed = 0;
long firstManaged = 0, lastManaged = 0, maxRss = 0;
Console.WriteLine($"{"images",7} {"seconds",8} {"images/s",9} {"managed MiB",12} {"RSS MiB",8}");
void Take(SegmentationOutcome o)
{
    if (o.Result == null) { failed++; Console.WriteLine($"  error: {o.Error!.Message}"); return; }
    exporter.Export(o.Result);
    done++;
    process.Refresh();
    maxRss = Math.Max(maxRss, process.WorkingSet64);
    if (done % 100 != 0) return;
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    long managed = GC.GetTotalMemory(forceFullCollection: true);
    if (firstManaged == 0) firstManaged = managed;
    lastManaged = managed;
    process.Refresh();
    Console.WriteLine($"{done,7} {wall.Elapsed.TotalSeconds,8:F1} {done / wall.Elapsed.TotalSeconds,9:F2} {managed / 1048576.0,12:F1} {process.WorkingSet64 / 1048576.0,8:F0}");
}
foreach (var file in new FolderScanner().Scan(input))
    foreach (var o in queue.Submit(file)) Take(o);
SegmentationOutcome? last;
while ((last = queue.TakeNext()) != null) Take(last);
wall.Stop();
process.Refresh();
Console.WriteLine($"done: {done} ok, {failed} failed in {wall.Elapsed.TotalSeconds:F1} s ({done / wall.Elapsed.TotalSeconds:F2} images/s); " +
                  $"managed after a full GC {firstManaged / 1048576.0:F1} MiB at image 100, {lastManaged / 1048576.0:F1} MiB at the last sample; " +
                  $"peak RSS {Math.Max(maxRss, process.PeakWorkingSet64) / 1048576.0:F0} MiB");
if (!keep) Directory.Delete(work, true);
