using System.Diagnostics;
using System.Globalization;
using Cxas.Imaging;
using Cxas.Models;
using Cxas.Onnx;
using Cxas.Precision;
using Microsoft.ML.OnnxRuntime;
using Cxas.Inference;

namespace Cxas.Bench.Gpu
{
    /// <summary>
    /// CUDA check and throughput, unattended (bench/gpu_check.sh runs it under a time limit):
    /// 1. the GPU's name (nvidia-smi);
    /// 2. per model (the default 9-class model, and a 159-class model folder when given): fp32 on CPU (the reference),
    ///    fp32 on CUDA and fp16 on CUDA (converted here by Fp16Converter) over real radiographs; per class the fraction
    ///    of grid pixels whose masks equal the CPU's, and the lowest class;
    /// 3. images/s of inference on CUDA at batch 1, 4 and 16, fp32 and fp16, plain Run (host tensors in and out) and IO
    ///    binding (input and output bound once to preallocated host tensors, the run reusing them), each for a few seconds.
    /// Prints everything with the GPU's name; exits 3 when CUDA cannot be used (the reason printed).
    ///
    ///   dotnet run -c Release --project bench/Cxas.Bench.Gpu -- [--model dir]... [--images dir] [--seconds 5]
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            var models = new List<string>();
            string? imagesDir = null;
            double seconds = 5;
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--model": models.Add(Next()); break;
                    case "--images": imagesDir = Next(); break;
                    case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    default: Console.Error.WriteLine("usage: [--model dir]... [--images dir] [--seconds 5]"); return 2;
                }
            }
            var repo = AppContext.BaseDirectory;
            while (!File.Exists(Path.Combine(repo, "Cxas.sln"))) repo = Path.GetDirectoryName(repo) ?? throw new DirectoryNotFoundException("Cxas.sln not found above the program");
            if (models.Count == 0) models.Add(Path.Combine(repo, "models", "cxas-anatomy-r18"));
            var images = Directory.GetFiles(imagesDir ?? Path.Combine(repo, "samples"), "*.png").OrderBy(p => p, StringComparer.Ordinal).ToList();
            Console.WriteLine($"GPU: {GpuName()}; CPU {Cxas.Models.CpuClass.Description}, {Environment.ProcessorCount} logical CPUs; {images.Count} radiographs; load average {LoadAverage()}");

            using (var probe = new SessionOptions())
            {
                var why = SetUpCuda(probe);
                if (why != null) { Console.WriteLine("CUDA cannot be used: " + why); return 3; }
            }
            foreach (var dir in models) RunModel(dir, images, seconds);
            return 0;
        }

        private static void RunModel(string dir, List<string> images, double seconds)
        {
            var manifest = ModelManifest.Load(Path.Combine(dir, "model.json"));
            var fp32 = Path.Combine(dir, "model.onnx");
            var fp16 = Path.Combine(Path.GetTempPath(), $"cxas-gpu-{manifest.Name}-fp16.onnx");
            var model = OnnxModel.Load(fp32);
            Fp16Converter.Apply(model);
            model.Save(fp16);
            int w = manifest.Input.Width, h = manifest.Input.Height, size = 3 * w * h;
            Console.WriteLine();
            Console.WriteLine($"Model {manifest.Name}: {manifest.Labels.Length} classes, input {w}x{h}");
            var inputs = images.Select(p =>
            {
                var x = new float[size];
                ModelInput.Fill(ImageLoader.Load(p).Raster, w, h, manifest.Input.Mean, manifest.Input.Std, x);
                return x;
            }).ToList();

            using var cpu = Open(fp32, cuda: false);
            using var cuda32 = Open(fp32, cuda: true);
            using var cuda16 = Open(fp16, cuda: true);
            foreach (var (name, session) in new[] { ("CUDA fp32", cuda32), ("CUDA fp16", cuda16) })
            {
                var agree = new long[manifest.Labels.Length];
                long plane = (long)w * h;
                float cut = manifest.LogitThreshold;
                foreach (var x in inputs)
                {
                    var a = Run(cpu, x, 1, w, h);
                    var b = Run(session, x, 1, w, h);
                    for (int c = 0; c < agree.Length; c++)
                        for (long i = c * plane; i < (c + 1) * plane; i++)
                            if ((a[i] > cut) == (b[i] > cut)) agree[c]++;
                }
                double total = (double)plane * inputs.Count;
                int worst = Enumerable.Range(0, agree.Length).OrderBy(c => agree[c]).First();
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  {0} masks vs CPU fp32 over {1} images: pixel agreement {2:P4}, lowest class {3} {4:P4}",
                    name, inputs.Count, agree.Sum() / (total * agree.Length), manifest.Labels[worst], agree[worst] / total));
            }
            foreach (var (name, session) in new[] { ("fp32", cuda32), ("fp16", cuda16) })
                foreach (int batch in new[] { 1, 4, 16 })
                {
                    var x = new float[batch * size];
                    for (int i = 0; i < batch; i++) Array.Copy(inputs[i % inputs.Count], 0, x, i * size, size);
                    double plain = Throughput(() => Run(session, x, batch, w, h), batch, seconds);
                    double bound = ThroughputBound(session, x, batch, w, h, manifest.Labels.Length, seconds);
                    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  CUDA {0} batch {1,2}: {2,7:F1} images/s (Run), {3,7:F1} images/s (IO binding)", name, batch, plain, bound));
                }
            File.Delete(fp16);
        }

        private static InferenceSession Open(string path, bool cuda)
        {
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            if (cuda)
            {
                var why = SetUpCuda(options);
                if (why != null) throw new InvalidOperationException(why);
            }
            return new InferenceSession(path, options);
        }

        private static float[] Run(InferenceSession session, float[] x, int batch, int w, int h)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(x, new long[] { batch, 3, h, w });
            using var results = session.Run(new RunOptions(), new[] { session.InputMetadata.Keys.First() }, new[] { value }, new[] { session.OutputMetadata.Keys.First() });
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        private static double Throughput(Action run, int batch, double seconds)
        {
            for (int i = 0; i < 3; i++) run();
            var watch = Stopwatch.StartNew();
            int runs = 0;
            while (watch.Elapsed.TotalSeconds < seconds || runs < 3) { run(); runs++; }
            return runs * batch / watch.Elapsed.TotalSeconds;
        }

        private static double ThroughputBound(InferenceSession session, float[] x, int batch, int w, int h, int classes, double seconds)
        {
            var output = new float[(long)batch * classes * w * h];
            using var input = OrtValue.CreateTensorValueFromMemory(x, new long[] { batch, 3, h, w });
            using var result = OrtValue.CreateTensorValueFromMemory(output, new long[] { batch, classes, h, w });
            using var binding = session.CreateIoBinding();
            binding.BindInput(session.InputMetadata.Keys.First(), input);
            binding.BindOutput(session.OutputMetadata.Keys.First(), result);
            using var runOptions = new RunOptions();
            return Throughput(() => { session.RunWithBinding(runOptions, binding); binding.SynchronizeBoundOutputs(); }, batch, seconds);
        }

        private static string? SetUpCuda(SessionOptions options)
        {
            if (!ModelSession.CudaAvailable()) return "this ONNX Runtime build has no CUDA execution provider";
            try { options.AppendExecutionProvider_CUDA(0); return null; }
            catch (Exception ex) { return ex.Message.Trim() + $" (needs {Cxas.Models.NativeRuntime.CudaRequirement})"; }
        }

        private static string GpuName()
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo("nvidia-smi", "--query-gpu=name,driver_version,memory.total --format=csv,noheader")
                { RedirectStandardOutput = true, UseShellExecute = false })!;
                var text = p.StandardOutput.ReadToEnd().Trim();
                p.WaitForExit();
                return text.Length > 0 ? text : "unknown (nvidia-smi printed nothing)";
            }
            catch (Exception ex) { return "unknown (nvidia-smi: " + ex.Message + ")"; }
        }

        private static string LoadAverage()
        {
            try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
            catch (IOException) { return "n/a"; }
        }
    }
}
