using System.Diagnostics;
using System.Globalization;
using Cxas.Export;
using Cxas.Import;
using Cxas.Imaging;
using Cxas.Masks;
using Cxas.Models;
using Cxas.Segmentation;
using Microsoft.ML.OnnxRuntime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Cxas.Inference;

namespace Cxas.Bench.Import
{
    /// <summary>
    /// Imported reference model, end to end on CPU: checkpoint import, session creation, then per image decode
    /// (2048x2048 PNG), nearest resize + normalisation, ONNX inference, thresholding, PNG mask export; peak memory.
    ///
    ///   dotnet run -c Release --project bench/Cxas.Bench.Import -- --checkpoint UNet_ResNet50_default.pth [--runs 3]
    ///   dotnet run -c Release --project bench/Cxas.Bench.Import -- --model &lt;model folder&gt; [--image x.png] [--ort-variants]
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            string? checkpoint = null, modelDir = null, image = null, work = null;
            int runs = 3, size = 2048;
            bool variants = false, pngSplit = false;
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--checkpoint": checkpoint = Next(); break;
                    case "--model": modelDir = Next(); break;
                    case "--image": image = Next(); break;
                    case "--work": work = Next(); break;
                    case "--runs": runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--size": size = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--ort-variants": variants = true; break;
                    case "--png-split": pngSplit = true; break;
                    default:
                        Console.Error.WriteLine("usage: --checkpoint <pth> | --model <dir>  [--image <png>] [--size 2048] [--runs 3] [--work <dir>] [--ort-variants] [--png-split]");
                        return 2;
                }
            }
            if (checkpoint == null && modelDir == null)
            {
                Console.Error.WriteLine("Give --checkpoint <pth> (imported first) or --model <model folder>.");
                return 2;
            }
            work ??= Path.Combine(Path.GetTempPath(), "cxas-bench-import");
            Directory.CreateDirectory(work);
            Console.WriteLine($"Cxas import benchmark: {Cxas.Models.CpuClass.Description}, {Environment.ProcessorCount} logical CPUs, {RuntimeInformationText()}");

            var total = Stopwatch.StartNew();
            if (checkpoint != null)
            {
                modelDir = Path.Combine(work, "model");
                var watch = Stopwatch.StartNew();
                var stageTimes = new Dictionary<string, Stopwatch>();
                string? current = null;
                var result = ModelImporter.Import(checkpoint, modelDir, overwrite: true, new ImportOptions(), p =>
                {
                    if (p.Stage == current) return;
                    if (current != null) stageTimes[current].Stop();
                    current = p.Stage;
                    stageTimes[current] = Stopwatch.StartNew();
                });
                if (current != null) stageTimes[current].Stop();
                Console.WriteLine($"import: {watch.Elapsed.TotalSeconds:F2} s ({result.Parameters:N0} parameters, {result.OnnxBytes / 1e6:F1} MB ONNX)");
                foreach (var s in stageTimes) Console.WriteLine($"  {s.Key,-30} {s.Value.Elapsed.TotalSeconds,7:F2} s");
                Console.WriteLine($"  peak memory after import: {PeakMb():F0} MB");
            }

            image ??= Path.Combine(work, $"synthetic_{size}.png");
            if (!File.Exists(image)) WriteSyntheticXray(image, size);
            Console.WriteLine($"image: {image} ({new FileInfo(image).Length / 1e6:F2} MB)");

            var model = CxasModel.Load(modelDir!);
            var load = Stopwatch.StartNew();
            using var sessions = new ModelSessions();
            var segmenter = new Segmenter(model, DeviceSpec.Cpu, sessions);
            var session = sessions.Get(model, DeviceSpec.Cpu);
            Console.WriteLine($"session (CPU): {load.Elapsed.TotalSeconds:F2} s; model {model.Name}, {model.Labels.Count} classes, " +
                              $"input {session.InputWidth}x{session.InputHeight}");

            var outDir = Path.Combine(work, "masks");
            var rows = new List<double[]>();
            var cpuRows = new List<double[]>();
            var input = new float[3 * session.InputWidth * session.InputHeight];
            var manifest = model.Manifest;
            for (int r = 0; r < runs; r++)
            {
                var t = new double[7];
                var c = new double[7];
                var w = Stopwatch.StartNew();
                Lap(w);
                var source = ImageLoader.Load(image);
                t[0] = Lap(w); c[0] = LastCpu;

                // Stage split, measured on their own: preprocess, inference, threshold.
                ModelInput.Fill(source.Raster, session.InputWidth, session.InputHeight, manifest.Input.Mean, manifest.Input.Std, input);
                t[1] = Lap(w); c[1] = LastCpu;
                var masks = new MaskSet(manifest.Labels, session.InputWidth, session.InputHeight, source.Width, source.Height);
                double threshold = 0, thresholdCpu = 0;
                session.Run(input, logits =>
                {
                    t[2] = Lap(w); c[2] = LastCpu;
                    masks.SetFromLogits(logits, manifest.LogitThreshold);
                    threshold = Lap(w); thresholdCpu = LastCpu;
                });
                t[3] = threshold; c[3] = thresholdCpu;

                // The project's pipeline: Segmenter (preprocess + inference + threshold), then PNG masks.
                Lap(w);
                var result = segmenter.Segment(source, TimeSpan.FromSeconds(t[0]));
                t[4] = Lap(w); c[4] = LastCpu;
                using (var exporter = new MaskExporter(outDir, MaskFormat.Png, overwrite: true))
                    exporter.Export(result);
                t[5] = Lap(w); c[5] = LastCpu;
                t[6] = t[0] + t[4] + t[5];
                c[6] = c[0] + c[4] + c[5];
                rows.Add(t);
                cpuRows.Add(c);
                Console.WriteLine($"run {r + 1}: decode {t[0]:F2}  preprocess {t[1]:F3}  inference {t[2]:F2}  threshold {t[3]:F3}  " +
                                  $"| Segmenter {t[4]:F2}  PNG export {t[5]:F2}  => end to end {t[6]:F2} s; {result.PresentCount} classes present");
            }
            string[] names = { "decode PNG", "preprocess (nearest+norm)", "inference (ORT run)", "threshold -> masks", "Segmenter.Segment", $"PNG mask export ({model.Labels.Count} files)", "END TO END per image" };
            var steady = rows.Count > 1 ? rows.Skip(1).ToList() : rows;
            var steadyCpu = cpuRows.Count > 1 ? cpuRows.Skip(1).ToList() : cpuRows;
            Console.WriteLine();
            Console.WriteLine($"Seconds per {size}x{size} image, wall / process CPU (all threads), one stage at a time (mean of {steady.Count} run(s){(rows.Count > 1 ? " after the first" : "")}):");
            for (int i = 0; i < names.Length; i++)
                Console.WriteLine($"  {names[i],-30} {steady.Average(x => x[i]),8:F3} / {steadyCpu.Average(x => x[i]),6:F3} s   (first run {rows[0][i]:F3} / {cpuRows[0][i]:F3} s)");
            double cpuPerImage = steadyCpu.Average(x => x[6]);
            Console.WriteLine($"  => at most {Environment.ProcessorCount / cpuPerImage:F1} images/s on {Environment.ProcessorCount} cores if every stage overlapped perfectly");
            Console.WriteLine($"peak memory (working set): {PeakMb():F0} MB; managed heap now {GC.GetTotalMemory(false) / 1e6:F0} MB");

            if (pngSplit) SplitPngExport(segmenter.Segment(ImageLoader.Load(image), TimeSpan.Zero).Masks);
            if (variants) CompareSessionOptions(model.OnnxPath, input, Math.Max(2, runs));
            Console.WriteLine($"total bench time {total.Elapsed.TotalSeconds:F1} s");
            return 0;
        }

        /// <summary>Wall seconds since the last lap (the stopwatch restarts); <see cref="LastCpu"/>: process CPU seconds since then.</summary>
        private static double Lap(Stopwatch w)
        {
            var s = w.Elapsed.TotalSeconds;
            var process = Process.GetCurrentProcess();
            double cpu = process.TotalProcessorTime.TotalSeconds;
            LastCpu = cpu - _cpuMark;
            _cpuMark = cpu;
            w.Restart();
            return s;
        }

        private static double _cpuMark;
        /// <summary>Process CPU seconds (all threads) of the last <see cref="Lap"/>: on two cores what a stage takes from both.</summary>
        private static double LastCpu { get; set; }

        private static double PeakMb()
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/self/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        return double.Parse(line.Substring(6).Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            using var p = Process.GetCurrentProcess();
            return p.PeakWorkingSet64 / 1e6;
        }

        private static string RuntimeInformationText() =>
            System.Runtime.InteropServices.RuntimeInformation.OSDescription + ", " + System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

        /// <summary>An 8-bit grayscale PNG with smooth, chest-like structure and noise (compresses like a radiograph).</summary>
        private static void WriteSyntheticXray(string path, int size)
        {
            var random = new Random(7);
            using var img = new Image<L8>(size, size);
            for (int y = 0; y < size; y++)
            {
                double fy = (double)y / size;
                for (int x = 0; x < size; x++)
                {
                    double fx = (double)x / size;
                    double lungs = Math.Exp(-Math.Pow((fx - 0.32) / 0.14, 2) - Math.Pow((fy - 0.45) / 0.25, 2))
                                 + Math.Exp(-Math.Pow((fx - 0.68) / 0.14, 2) - Math.Pow((fy - 0.45) / 0.25, 2));
                    double spine = Math.Exp(-Math.Pow((fx - 0.5) / 0.04, 2));
                    double ribs = 0.08 * Math.Sin(fy * 60 + 4 * Math.Abs(fx - 0.5));
                    double v = 150 - 90 * lungs + 70 * spine + 30 * ribs + random.Next(-6, 7);
                    img[x, y] = new L8((byte)Math.Max(0, Math.Min(255, v)));
                }
            }
            img.SaveAsPng(path);
        }

        /// <summary>Where PNG export time goes: row sampling, bit packing, deflate (Optimal vs Fastest).</summary>
        private static void SplitPngExport(MaskSet masks)
        {
            Console.WriteLine();
            Console.WriteLine($"PNG export split ({masks.Count} classes, {masks.Width}x{masks.Height}):");
            var row = new byte[masks.Width];
            var packed = new byte[(masks.Width + 7) / 8 + 1];
            var w = Stopwatch.StartNew();
            for (int c = 0; c < masks.Count; c++)
                for (int y = 0; y < masks.Height; y++) masks.GetRow(c, y, row);
            Console.WriteLine($"  GetRow (nearest upsampling)      {Lap(w),7:F2} s");
            for (int c = 0; c < masks.Count; c++)
                for (int y = 0; y < masks.Height; y++)
                {
                    Array.Clear(packed, 0, packed.Length);
                    for (int x = 0; x < row.Length; x++)
                        if (row[x] != 0) packed[1 + (x >> 3)] |= (byte)(0x80 >> (x & 7));
                }
            Console.WriteLine($"  bit packing                      {Lap(w),7:F2} s");
            foreach (var level in new[] { System.IO.Compression.CompressionLevel.Optimal, System.IO.Compression.CompressionLevel.Fastest })
            {
                long bytes = 0;
                w.Restart();
                for (int c = 0; c < masks.Count; c++)
                {
                    using var ms = new MemoryStream();
                    using (var deflate = new System.IO.Compression.DeflateStream(ms, level, leaveOpen: true))
                        for (int y = 0; y < masks.Height; y++)
                        {
                            masks.GetRow(c, y, row);
                            Array.Clear(packed, 0, packed.Length);
                            for (int x = 0; x < row.Length; x++)
                                if (row[x] != 0) packed[1 + (x >> 3)] |= (byte)(0x80 >> (x & 7));
                            deflate.Write(packed, 0, packed.Length);
                        }
                    bytes += ms.Length;
                }
                Console.WriteLine($"  rows + pack + deflate {level,-9}  {Lap(w),7:F2} s  ({bytes / 1e6:F2} MB compressed)");
            }
        }

        /// <summary>Raw session runs under a few ONNX Runtime option sets, to pick ModelSession's defaults.</summary>
        private static void CompareSessionOptions(string onnx, float[] input, int runs)
        {
            Console.WriteLine();
            Console.WriteLine("ONNX Runtime session options (raw Run, CPU):");
            var variants = new (string Name, Action<SessionOptions> Apply)[]
            {
                ("ModelSession default (ALL, no spinning)", o => { o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); }),
                ("ALL + spinning", o => { }),
                ("EXTENDED, no spinning", o => { o.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED; o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); }),
                ("ALL, no spinning, no mem pattern", o => { o.EnableMemoryPattern = false; o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); }),
                ("ALL, no spinning, no CPU arena", o => { o.EnableCpuMemArena = false; o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); }),
            };
            foreach (var (name, apply) in variants)
            {
                using var options = new SessionOptions
                {
                    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                    IntraOpNumThreads = Environment.ProcessorCount,
                };
                apply(options);
                var create = Stopwatch.StartNew();
                using var session = new InferenceSession(onnx, options);
                double createS = create.Elapsed.TotalSeconds;
                var meta = session.InputMetadata.First();
                var dims = meta.Value.Dimensions.Select(d => (long)(d <= 0 ? 1 : d)).ToArray();
                var times = new List<double>();
                for (int r = 0; r <= runs; r++)
                {
                    using var value = OrtValue.CreateTensorValueFromMemory(input, dims);
                    using var ro = new RunOptions();
                    var w = Stopwatch.StartNew();
                    using (var results = session.Run(ro, new[] { meta.Key }, new[] { value }, session.OutputNames)) { }
                    if (r > 0) times.Add(w.Elapsed.TotalSeconds); // first run is warm-up
                }
                Console.WriteLine($"  {name,-40} create {createS,6:F2} s   run {times.Average(),6:F2} s (min {times.Min():F2})   peak {PeakMb():F0} MB");
            }
        }
    }
}
