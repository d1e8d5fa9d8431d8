using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cxas.Imaging;
using Cxas.Import;
using Cxas.Models;
using Cxas.Precision;
using Microsoft.ML.OnnxRuntime;
using Cxas.Inference;

namespace Cxas.Bench.Precision
{
    /// <summary>
    /// Agreement study of reduced-precision models against float32, and their inference speed.
    ///
    /// Default model: calibration on training-split radiographs of ../shared/data/cxr-seg, int8 conversion through
    /// PrecisionConverter (its own check runs on the validation split), then per class on the validation split (the
    /// 15 % of each source with the smallest md5 of 'source/id', as training/data.py defines it): pooled Dice of the
    /// fp32 and the int8 masks against the expert masks at the stored 512x512 (masks nearest-resized from the model
    /// grid, as evaluate.py does), the Dice change, and pixel agreement of int8 with fp32 on the model grid.
    /// 159-class architecture: a random-weight checkpoint (training/reference_arch.py) imported with -Precision Int8
    /// calibrated on real radiographs; its agreement figures, or the refusal with them.
    ///
    ///   dotnet run -c Release --project bench/Cxas.Bench.Precision -- [--data ../shared/data/cxr-seg] [--calibration 32]
    ///       [--model models/cxas-anatomy-r18] [--checkpoint random159.pth] [--work dir] [--limit N]
    ///       [--scheme U8S7|U8S8|U8U8] [--no-bias-correction] [--no-fp16]
    /// Every run prints the CPU model and its instruction class first (int8 results depend on it; see CpuClass).
    /// </summary>
    internal static class Program
    {
        private static readonly Dictionary<string, string> SourceLabel = new Dictionary<string, string>
        {
            ["right-lung"] = "right lung", ["left-lung"] = "left lung", ["lung"] = "lung", ["heart"] = "heart",
            ["clavicle-right"] = "clavicle right", ["clavicle-left"] = "clavicle left",
            ["cardiomediastinum"] = "cardiomediastinum", ["trachea"] = "trachea",
        };

        private static int Main(string[] args)
        {
            if (args.Length > 0 && args[0] == "import") return ImportOnly(args);
            if (args.Length > 0 && args[0] == "speed") return SpeedOnly(args);
            string data = "../shared/data/cxr-seg", modelDir = "models/cxas-anatomy-r18";
            string? checkpoint = null, work = null;
            int calibration = 32, limit = int.MaxValue, size159 = 512;
            bool experiment = false, fp16 = true, biasCorrection = new Int8Options().BiasCorrection;
            var scheme = new Int8Options().Scheme;
            ISet<string>? only = null;
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--data": data = Next(); break;
                    case "--model": modelDir = Next(); break;
                    case "--checkpoint": checkpoint = Next(); break;
                    case "--work": work = Next(); break;
                    case "--calibration": calibration = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--limit": limit = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--experiment": experiment = true; break;
                    case "--only": only = new HashSet<string>(Next().Split(','), StringComparer.Ordinal); break;
                    case "--size159": size159 = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--scheme": scheme = Enum.Parse<Int8Scheme>(Next(), ignoreCase: true); break;
                    case "--no-fp16": fp16 = false; break;
                    case "--no-bias-correction": biasCorrection = false; break;
                    default:
                        Console.Error.WriteLine("usage: [--data dir] [--model dir] [--checkpoint pth] [--calibration 32] [--limit N] [--work dir]");
                        return 2;
                }
            }
            work ??= Path.Combine(Path.GetTempPath(), "cxas-bench-precision");
            Directory.CreateDirectory(work);
            Console.WriteLine($"Cxas precision study: {CpuClass.Description}, {Environment.ProcessorCount} logical CPUs, load average {LoadAverage()}; int8 scheme {scheme}{(biasCorrection ? " with bias correction" : " without bias correction")}");
            if (!File.Exists(Path.Combine(data, "index.csv")))
            {
                Console.WriteLine($"No data at {data}: the study needs ../shared/data/cxr-seg.");
                return 1;
            }
            var rows = ReadIndex(data);
            var val = ValidationSplit(rows);
            var train = rows.Where(r => !val.Contains(Key(r))).ToList();
            var calib = train.OrderBy(r => Md5("calibration/" + Key(r))).Take(calibration).Select(r => ImagePath(data, r)).ToList();
            var valRows = rows.Where(r => val.Contains(Key(r))).Take(limit).ToList();
            Console.WriteLine($"{rows.Count} images, validation split {val.Count} (using {valRows.Count}), calibration {calib.Count} from the training part");

            if (experiment)
            {
                Experiments(modelDir, work, calib, valRows.Where((r, i) => i % 3 == 0).Select(r => ImagePath(data, r)).ToList(), only);
                return 0;
            }
            StudyDefault(modelDir, work, data, calib, valRows, new Int8Options { Scheme = scheme, BiasCorrection = biasCorrection });
            if (fp16) StudyFp16(modelDir, work, valRows.Take(24).Select(r => ImagePath(data, r)).ToList());
            if (checkpoint != null) Study159(checkpoint, work, calib, valRows.Select(r => ImagePath(data, r)).Take(24).ToList(), size159);
            Console.WriteLine($"load average at end {LoadAverage()}");
            return 0;
        }

        /// <summary>
        /// import &lt;checkpoint.pth | model folder&gt; &lt;out folder&gt; &lt;fp32|int8|fp16&gt; [calibration folder] [min pixel agreement] [U8S7|U8S8|U8U8]:
        /// one model for bench/side_by_side.py (a checkpoint is imported, a model folder converted); prints the agreement.
        /// </summary>
        private static int ImportOnly(string[] args)
        {
            var precision = PrecisionConverter.Parse(args[3]);
            var calibration = args.Length > 4 ? Directory.GetFiles(args[4], "*.png").OrderBy(f => f, StringComparer.Ordinal).ToList() : new List<string>();
            var options = new PrecisionOptions { CalibrationImages = calibration };
            if (args.Length > 5) options.MinPixelAgreement = double.Parse(args[5], CultureInfo.InvariantCulture);
            if (args.Length > 6) options.Int8.Scheme = Enum.Parse<Int8Scheme>(args[6], ignoreCase: true);
            PrecisionResult? result;
            if (Directory.Exists(args[1]))
                result = PrecisionConverter.Convert(args[1], args[2], precision, options, overwrite: true, name: Path.GetFileName(args[2].TrimEnd('/')));
            else
                result = ModelImporter.Import(args[1], args[2], true, new ImportOptions { Name = Path.GetFileName(args[2].TrimEnd('/')), Precision = precision, PrecisionOptions = options }).Precision;
            Console.WriteLine(result == null ? "fp32 model written" : result.Agreement.Summary());
            return 0;
        }

        /// <summary>Calibration and float-layer choices side by side on a third of the validation split.</summary>
        private static void Experiments(string modelDir, string work, List<string> calib, List<string> check, ISet<string>? only)
        {
            var variants = new (string Name, double Percentile, int First, int Last, bool Bias, int Below)[]
            {
                ("minmax", 100, 0, 0, false, 0), ("p99.99", 99.99, 0, 0, false, 0), ("p99.9", 99.9, 0, 0, false, 0),
                ("p99.999", 99.999, 0, 0, false, 0), ("p99.99 bias-corrected", 99.99, 0, 0, true, 0),
                ("p99.99 float <400 px", 99.99, 0, 0, false, 400), ("p99.99 float <1600 px", 99.99, 0, 0, false, 1600),
                ("p99.99 mean", 99.99, 0, 0, false, 0), ("minmax mean", 100, 0, 0, false, 0),
                ("p99.99 first float", 99.99, 1, 0, false, 0), ("p99.99 last 2 float", 99.99, 0, 2, false, 0),
                ("p99.99 last 4 float", 99.99, 0, 4, false, 0), ("p99.99 first + last 2 float", 99.99, 1, 2, false, 0),
            };
            foreach (var v in variants.Where(v => only == null || only.Contains(v.Name)))
            {
                var target = Path.Combine(work, "experiment");
                var watch = Stopwatch.StartNew();
                var options = new PrecisionOptions
                {
                    CalibrationImages = calib, CheckImages = check, MinPixelAgreement = 0, CalibrationPercentile = v.Percentile, CalibrationAverage = v.Name.EndsWith("mean"),
                    Int8 = new Int8Options { FloatFirstConvolutions = v.First, FloatLastConvolutions = v.Last, BiasCorrection = v.Bias, FloatBelowPixels = v.Below },
                };
                var r = PrecisionConverter.Convert(modelDir, target, ModelPrecision.Int8, options, overwrite: true);
                var a = r.Agreement;
                Console.WriteLine($"{v.Name,-22} {watch.Elapsed.TotalSeconds,5:F0} s  {r.QuantizedConvolutions} int8 convs  overall {a.PixelAgreement:P3}  " +
                                  string.Join("  ", a.Classes.Select(c => $"{c.Label.Split(' ')[0]} {c.PixelAgreement:P2}")) + $"  (load {LoadAverage()})");
            }
        }

        private static void StudyDefault(string modelDir, string work, string data, List<string> calib, List<Dictionary<string, string>> valRows, Int8Options int8)
        {
            var target = Path.Combine(work, Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd('/')) + "-int8");
            var watch = Stopwatch.StartNew();
            var valImages = valRows.Select(r => ImagePath(data, r)).ToList();
            PrecisionResult result;
            try
            {
                result = PrecisionConverter.Convert(modelDir, target, ModelPrecision.Int8,
                    new PrecisionOptions { CalibrationImages = calib, CheckImages = valImages, Int8 = int8 }, overwrite: true);
            }
            catch (PrecisionRefusedException ex)
            {
                Console.WriteLine("REFUSED: " + ex.Message);
                return;
            }
            Console.WriteLine($"int8 conversion {watch.Elapsed.TotalSeconds:F1} s, {result.QuantizedTensors} tensors and {result.QuantizedConvolutions} convolutions quantized, " +
                              $"{new FileInfo(Path.Combine(modelDir, "model.onnx")).Length / 1e6:F1} MB -> {result.OnnxBytes / 1e6:F1} MB");
            Console.WriteLine("converter's check: " + result.Agreement.Summary());

            var manifest = ModelManifest.Load(Path.Combine(modelDir, "model.json"));
            int classes = manifest.Labels.Length;
            var inter = new long[2, classes];
            var sum = new long[2, classes];
            var images = new int[classes];
            using var agreement = new MaskAgreement(Path.Combine(modelDir, "model.onnx"), Path.Combine(target, "model.onnx"), manifest);
            foreach (var row in valRows)
            {
                var truth = Truth(data, row, manifest.Labels, out int tw, out int th);
                var image = ImageLoader.Load(ImagePath(data, row));
                int gw = manifest.Input.Width, gh = manifest.Input.Height;
                var ys = NearestIndex.Map(gh, th);
                var xs = NearestIndex.Map(gw, tw);
                agreement.Add(image, (c, reference, variant) =>
                {
                    if (truth[c] == null) return;
                    if (reference == null) return;
                    var t = truth[c]!;
                    for (int v = 0; v < 2; v++)
                    {
                        var m = v == 0 ? reference : variant;
                        long i = 0, s = 0;
                        for (int y = 0; y < th; y++)
                        {
                            int g = ys[y] * gw;
                            for (int x = 0; x < tw; x++)
                            {
                                bool p = m[g + xs[x]], q = t[y * tw + x];
                                if (p && q) i++;
                                if (p) s++;
                                if (q) s++;
                            }
                        }
                        inter[v, c] += i;
                        sum[v, c] += s;
                    }
                    images[c]++;
                });
            }
            var report = agreement.Report("int8", 0.995);
            Console.WriteLine();
            Console.WriteLine($"Default model {manifest.Name}, validation split ({valRows.Count} images), expert masks at 512x512, pooled Dice per class:");
            Console.WriteLine("| class | images | Dice fp32 | Dice int8 | change | pixel agreement int8 vs fp32 |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            double worstChange = 0;
            for (int c = 0; c < classes; c++)
            {
                double d0 = sum[0, c] == 0 ? double.NaN : 2.0 * inter[0, c] / sum[0, c];
                double d1 = sum[1, c] == 0 ? double.NaN : 2.0 * inter[1, c] / sum[1, c];
                if (!double.IsNaN(d0)) worstChange = Math.Max(worstChange, Math.Abs(d1 - d0));
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "| {0} | {1} | {2:F4} | {3:F4} | {4:+0.0000;-0.0000;0.0000} | {5:P3} |",
                    manifest.Labels[c], images[c], d0, d1, d1 - d0, report.Classes[c].PixelAgreement));
            }
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "largest |Dice change| {0:F4} (bound 0.005): {1}; pixel agreement {2:P3} (bound 99.5 %): {4}; lowest class {5} {3:P3}",
                worstChange, worstChange <= 0.005 ? "met" : "MISSED", report.PixelAgreement, report.Worst!.PixelAgreement, report.Passed ? "met" : "MISSED", report.Worst.Label));
            Speed(modelDir, target, manifest, valRows.Take(8).Select(r => ImagePath(data, r)).ToList());
        }

        /// <summary>Float16 conversion; its agreement is measured where ONNX Runtime runs it (CUDA, or the CPU provider if it can).</summary>
        private static void StudyFp16(string modelDir, string work, List<string> check)
        {
            Console.WriteLine();
            var target = Path.Combine(work, Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd('/')) + "-fp16");
            try
            {
                var r = PrecisionConverter.Convert(modelDir, target, ModelPrecision.Fp16, new PrecisionOptions { CheckImages = check }, overwrite: true);
                Console.WriteLine($"fp16 conversion: {r.OnnxBytes / 1e6:F1} MB; {r.Agreement.Summary()}");
                if (r.Agreement.NotChecked == null) Console.WriteLine(r.Agreement.Table());
            }
            catch (PrecisionRefusedException ex)
            {
                Console.WriteLine("fp16 REFUSED: " + ex.Report.Summary());
            }
        }

        private static void Study159(string checkpoint, string work, List<string> calib, List<string> check, int size)
        {
            Console.WriteLine();
            Console.WriteLine($"159-class architecture, random-weight checkpoint {Path.GetFileName(checkpoint)}, input {size}x{size}:");
            var fp32 = Path.Combine(work, "random159-fp32");
            var int8 = Path.Combine(work, "random159-int8");
            var watch = Stopwatch.StartNew();
            ModelImporter.Import(checkpoint, fp32, true, new ImportOptions { Name = "random159-fp32", InputWidth = size, InputHeight = size });
            Console.WriteLine($"fp32 import {watch.Elapsed.TotalSeconds:F1} s");
            watch.Restart();
            try
            {
                var r = ModelImporter.Import(checkpoint, int8, true, new ImportOptions
                {
                    Name = "random159-int8", InputWidth = size, InputHeight = size, Precision = ModelPrecision.Int8,
                    PrecisionOptions = new PrecisionOptions { CalibrationImages = calib.Take(8).ToList(), CheckImages = check.Take(12).ToList() },
                });
                Console.WriteLine($"int8 import {watch.Elapsed.TotalSeconds:F1} s, {r.OnnxBytes / 1e6:F1} MB: accepted");
                Console.WriteLine(r.Precision!.Agreement.Summary());
                Console.WriteLine(r.Precision.Agreement.Table());
                Speed(fp32, int8, ModelManifest.Load(Path.Combine(fp32, "model.json")), check.Take(3).ToList());
            }
            catch (PrecisionRefusedException ex)
            {
                Console.WriteLine($"int8 import {watch.Elapsed.TotalSeconds:F1} s: REFUSED");
                Console.WriteLine(ex.Report.Summary());
                var worst = ex.Report.Classes.OrderBy(c => c.PixelAgreement).Take(10);
                foreach (var c in worst) Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  {0,-36} agreement {1:P3} Dice {2:F4}", c.Label, c.PixelAgreement, c.Dice));
            }
        }

        /// <summary>
        /// speed &lt;model folder&gt;... [--images dir] [--rounds 5]: inference only, the models interleaved round by round (so a
        /// busy machine slows them alike); per model the median wall time per image and the process CPU time per image.
        /// </summary>
        private static int SpeedOnly(string[] args)
        {
            var dirs = new List<string>();
            string images = "samples";
            int rounds = 5;
            for (int i = 1; i < args.Length; i++)
            {
                if (args[i] == "--images") images = args[++i];
                else if (args[i] == "--rounds") rounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                else dirs.Add(args[i]);
            }
            Console.WriteLine($"Inference speed on {CpuClass.Description}, {Environment.ProcessorCount} logical CPUs, load average {LoadAverage()}");
            var files = Directory.GetFiles(images, "*.png").OrderBy(f => f, StringComparer.Ordinal).Take(8).ToList();
            var sessions = dirs.Select(d =>
            {
                var manifest = ModelManifest.Load(Path.Combine(d, "model.json"));
                int w = manifest.Input.Width, h = manifest.Input.Height;
                var inputs = Prepared(manifest, files);
                var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = Environment.ProcessorCount };
                var session = new InferenceSession(Path.Combine(d, "model.onnx"), options);
                var scheme = manifest.Provenance != null && manifest.Provenance.TryGetValue(PrecisionConverter.SchemeKey, out var sc) ? " " + sc : "";
                return (Name: $"{manifest.Name} ({manifest.Precision ?? "fp32"}{scheme})", Session: session, Inputs: inputs, Shape: new long[] { 1, 3, h, w }, Wall: new List<double>(), Cpu: new List<double>());
            }).ToList();
            var process = Process.GetCurrentProcess();
            for (int round = 0; round <= rounds; round++)
                foreach (var m in sessions)
                    foreach (var x in m.Inputs)
                    {
                        using var value = OrtValue.CreateTensorValueFromMemory(x, m.Shape);
                        process.Refresh();
                        var cpu = process.TotalProcessorTime;
                        var watch = Stopwatch.StartNew();
                        using var results = m.Session.Run(new RunOptions(), new[] { m.Session.InputMetadata.Keys.First() }, new[] { value }, new[] { m.Session.OutputMetadata.Keys.First() });
                        watch.Stop();
                        process.Refresh();
                        if (round == 0) continue; // warm-up round
                        m.Wall.Add(watch.Elapsed.TotalMilliseconds);
                        m.Cpu.Add((process.TotalProcessorTime - cpu).TotalMilliseconds);
                    }
            foreach (var m in sessions)
            {
                m.Wall.Sort(); m.Cpu.Sort();
                Console.WriteLine($"  {m.Name,-40} median {m.Wall[m.Wall.Count / 2],6:F1} ms wall, {m.Cpu[m.Cpu.Count / 2],6:F1} ms CPU per image over {m.Wall.Count}");
                m.Session.Dispose();
            }
            Console.WriteLine($"load average at end {LoadAverage()}");
            return 0;
        }

        /// <summary>The model's input tensors [3,H,W] for the images (the pipeline's resize and normalisation).</summary>
        private static List<float[]> Prepared(ModelManifest manifest, IEnumerable<string> images)
        {
            int w = manifest.Input.Width, h = manifest.Input.Height;
            return images.Select(p =>
            {
                var x = new float[3 * w * h];
                ModelInput.Fill(ImageLoader.Load(p).Raster, w, h, manifest.Input.Mean, manifest.Input.Std, x);
                return x;
            }).ToList();
        }

        /// <summary>Inference only (prepared input, one session each), median of the runs, per model.</summary>
        private static void Speed(string fp32Dir, string int8Dir, ModelManifest manifest, List<string> images)
        {
            int w = manifest.Input.Width, h = manifest.Input.Height;
            var inputs = Prepared(manifest, images);
            foreach (var dir in new[] { fp32Dir, int8Dir })
            {
                using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = Environment.ProcessorCount };
                using var session = new InferenceSession(Path.Combine(dir, "model.onnx"), options);
                var times = new List<double>();
                foreach (var x in inputs.Take(1).Concat(inputs))
                {
                    using var value = OrtValue.CreateTensorValueFromMemory(x, new long[] { 1, 3, h, w });
                    var watch = Stopwatch.StartNew();
                    using var results = session.Run(new RunOptions(), new[] { session.InputMetadata.Keys.First() }, new[] { value }, new[] { session.OutputMetadata.Keys.First() });
                    times.Add(watch.Elapsed.TotalMilliseconds);
                }
                times.RemoveAt(0);
                times.Sort();
                Console.WriteLine($"  inference {Path.GetFileName(dir)}: median {times[times.Count / 2]:F0} ms per image over {times.Count} (load average {LoadAverage()})");
            }
        }

        private static bool[]?[] Truth(string data, Dictionary<string, string> row, string[] labels, out int width, out int height)
        {
            var planes = new bool[]?[labels.Length];
            width = height = 0;
            foreach (var lab in row["labels"].Split(';').Where(l => l.Length > 0))
            {
                var img = ImageLoader.Load(Path.Combine(data, row["source"], "masks", lab, row["id"] + ".png")).Raster;
                width = img.Width; height = img.Height;
                var plane = new bool[width * height];
                var rgb = new byte[width * 3];
                for (int y = 0; y < height; y++)
                {
                    img.GetRgb24Row(y, rgb);
                    for (int x = 0; x < width; x++) plane[y * width + x] = rgb[3 * x] > 127;
                }
                int c = Array.IndexOf(labels, SourceLabel[lab]);
                if (c >= 0) planes[c] = plane;
            }
            void Union(string union, string a, string b)
            {
                int u = Array.IndexOf(labels, union), i = Array.IndexOf(labels, a), j = Array.IndexOf(labels, b);
                if (u >= 0 && planes[u] == null && i >= 0 && j >= 0 && planes[i] != null && planes[j] != null)
                    planes[u] = planes[i]!.Zip(planes[j]!, (p, q) => p || q).ToArray();
            }
            Union("lung", "right lung", "left lung");
            Union("clavicles", "clavicle right", "clavicle left");
            return planes;
        }

        private static List<Dictionary<string, string>> ReadIndex(string data)
        {
            var lines = File.ReadAllLines(Path.Combine(data, "index.csv"));
            var head = lines[0].Split(',');
            return lines.Skip(1).Where(l => l.Length > 0).Select(l =>
            {
                var cells = l.Split(',');
                var row = new Dictionary<string, string>();
                for (int i = 0; i < head.Length; i++) row[head[i]] = i < cells.Length ? cells[i] : "";
                return row;
            }).ToList();
        }

        /// <summary>training/data.py split_of: per source, the round(0.15 n) ids with the smallest md5 of 'source/id'.</summary>
        private static HashSet<string> ValidationSplit(List<Dictionary<string, string>> rows)
        {
            var val = new HashSet<string>();
            foreach (var g in rows.GroupBy(r => r["source"]))
            {
                var ids = g.Select(r => r["id"]).OrderBy(i => Md5(g.Key + "/" + i), StringComparer.Ordinal).ToList();
                int n = (int)Math.Round(0.15 * ids.Count, MidpointRounding.ToEven);
                foreach (var id in ids.Take(n)) val.Add(g.Key + "/" + id);
            }
            return val;
        }

        private static string Key(Dictionary<string, string> r) => r["source"] + "/" + r["id"];
        private static string ImagePath(string data, Dictionary<string, string> r) => Path.Combine(data, r["source"], "images", r["id"] + ".png");

        private static string Md5(string text)
        {
            using var md5 = MD5.Create();
            return string.Concat(md5.ComputeHash(Encoding.UTF8.GetBytes(text)).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        }

        internal static string LoadAverage()
        {
            try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
            catch (IOException) { return "n/a"; }
        }
    }
}
