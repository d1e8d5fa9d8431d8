using System;
using System.IO;
using System.Linq;
using Cxas.Imaging;
using Cxas.Testing;

// The full PNG/JPEG mutation run (issue 10): at least 10,000 files mutated from real radiographs of ../shared, fixed
// seed; prints the report of ImageMutationHarness and exits 1 on a hang, a non-Cxas error, a result for a file PIL
// rejects, a file over 10 s, or a result whose allocation exceeds ImageLimits.DecodeMemoryBound.
// usage: dotnet run -c Release --project bench/Cxas.Bench.Mutation [-- --files N] [--sources N] [--seed N] [--shared DIR] [--keep]
//        dotnet run -c Release --project bench/Cxas.Bench.Mutation -- --memory FILE...   (bytes allocated per decoded pixel, time)
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--memory") return Memory(args.Skip(1).ToArray());
        var repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "Cxas.sln"))) repo = Path.GetDirectoryName(repo)!;
        var options = new ImageMutationHarness.Options
        {
            Files = 10_500, Sources = 60, SharedRoot = Path.GetFullPath(Path.Combine(repo, "..", "shared")),
            WorkDir = Path.Combine(Path.GetTempPath(), "cxas-mutation-" + Guid.NewGuid().ToString("N").Substring(0, 8)),
            Log = Console.WriteLine,
        };
        bool keep = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--files": options.Files = int.Parse(args[++i]); break;
                case "--sources": options.Sources = int.Parse(args[++i]); break;
                case "--seed": options.Seed = int.Parse(args[++i]); break;
                case "--shared": options.SharedRoot = args[++i]; break;
                case "--keep": keep = true; break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }
        Console.WriteLine($"work folder: {options.WorkDir} ({Cxas.Models.CpuClass.Description}, {Environment.ProcessorCount} cores)");
        var report = new ImageMutationHarness(options).Run();
        foreach (var line in report.Lines()) Console.WriteLine(line);
        if (!keep && report.ResultsPilRejects.Count == 0) Directory.Delete(options.WorkDir, true);
        bool ok = report.Hangs == 0 && report.NonCxasErrors.Count == 0 && report.UnexpectedInner.Count == 0 && report.ResultsPilRejects.Count == 0
                  && report.Slow.Count == 0 && report.OverMemoryBound.Count == 0;
        Console.WriteLine(ok ? "PASS" : "FAIL");
        return ok ? 0 : 1;
    }

    private static int Memory(string[] files)
    {
        foreach (var file in files)
        {
            ImageLoader.Load(file); // timed as in use: ImageSharp's pool
            var watch = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < 3; i++) ImageLoader.Load(file);
            double ms = watch.Elapsed.TotalMilliseconds / 3;
            GC.Collect();
            long before = GC.GetTotalAllocatedBytes(true);
            var image = ImageLoader.Load(file, ImageReadOptions.Counting); // counted: every buffer from the GC
            long allocated = GC.GetTotalAllocatedBytes(true) - before;
            long pixels = (long)image.Width * image.Height, size = new FileInfo(file).Length;
            Console.WriteLine($"{Path.GetFileName(file)}: {image.Width}x{image.Height}, {size:N0} bytes, {allocated / 1048576.0:F1} MiB allocated, " +
                              $"{(double)(allocated - size) / pixels:F2} bytes per pixel beyond the file; bound {ImageLimits.DecodeMemoryBound(pixels, size) / 1048576.0:F1} MiB; {ms:F0} ms a decode");
        }
        return 0;
    }
}
