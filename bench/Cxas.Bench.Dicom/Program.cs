using System.Diagnostics;
using System.Reflection;
using Cxas.Dicom;

// Times our decode of a 3000x2500 16-bit JPEG-lossless CR beside dcmtk's dcmdjpeg on the same file and prints the ratio.
// usage: dotnet run -c Release --project bench/Cxas.Bench.Dicom [-- FILE.dcm] [--runs N]
internal static class Program
{
    private static int Main(string[] args)
    {
        int runs = 7;
        string? input = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--runs" && i + 1 < args.Length) runs = int.Parse(args[++i]);
            else input = args[i];
        }
        var dcmdjpeg = Which("dcmdjpeg");
        var dir = Path.Combine(Path.GetTempPath(), "cxas-bench-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        Directory.CreateDirectory(dir);
        try
        {
            string file = input ?? MakeCr(dir);
            var bytes = File.ReadAllBytes(file);
            Console.WriteLine($"file: {file} ({bytes.Length / 1024.0 / 1024.0:F1} MiB)");

            // Our decoder: stored values only (what dcmdjpeg does), and the full reader (parse + decode + LUTs + scaling).
            // Core's internals are reached by reflection, so Core needs no InternalsVisibleTo for the bench.
            var core = typeof(DicomImageReader).Assembly;
            var parse = core.GetType("Cxas.Dicom.DicomParser")!.GetMethod("Parse", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
            var pixels = core.GetType("Cxas.Dicom.DicomPixels")!;
            var describe = pixels.GetMethod("Describe", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
            var decode = pixels.GetMethod("DecodeFirstFrame", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
            Action decodeStored = () =>
            {
                var parsed = parse.Invoke(null, new object[] { file, bytes })!;
                decode.Invoke(null, new[] { parsed, describe.Invoke(null, new[] { parsed })! });
            };
            var image = new DicomImageReader().Read(file);
            Console.WriteLine($"image: {image.Width}x{image.Height}, {Cxas.Models.CpuClass.Description}, {Environment.ProcessorCount} cores");
            decodeStored(); // warm-up (JIT)
            var reader = new DicomImageReader();
            var output = Path.Combine(dir, "out.dcm");
            var native = Path.Combine(dir, "native.dcm");
            var jobs = new List<(string Name, Action Run)> { ("Cxas decode (stored values, in memory)", decodeStored), ("Cxas full read (file -> [0,1] grey)", () => reader.Read(file)) };
            if (dcmdjpeg != null)
            {
                Run(dcmdjpeg, file, native);
                jobs.Add(("dcmdjpeg (process, file to file)", () => Run(dcmdjpeg, file, output)));
                // dcmdjpeg's fixed cost (process start, reading and writing the file) on an uncompressed copy of the image.
                jobs.Add(("dcmdjpeg on the uncompressed copy", () => Run(dcmdjpeg, native, output)));
            }
            // Runs are interleaved so that load from other processes hits every contender alike.
            var times = jobs.Select(_ => new List<double>()).ToList();
            for (int r = 0; r < runs; r++)
                for (int j = 0; j < jobs.Count; j++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var sw = Stopwatch.StartNew();
                    jobs[j].Run();
                    times[j].Add(sw.Elapsed.TotalMilliseconds);
                }
            var medians = times.Select(t => t.OrderBy(v => v).ElementAt(t.Count / 2)).ToList();
            for (int j = 0; j < jobs.Count; j++)
                Console.WriteLine($"{jobs[j].Name,-42} median {medians[j],8:F1} ms  (min {times[j].Min():F1}, {runs} runs)");
            if (dcmdjpeg == null)
            {
                Console.WriteLine("dcmdjpeg not found (apt-get install dcmtk): no comparison.");
                return 0;
            }
            Console.WriteLine($"ratio Cxas decode / dcmdjpeg:               {medians[0] / medians[2]:F2}");
            Console.WriteLine($"ratio Cxas decode / (dcmdjpeg - overhead):  {medians[0] / Math.Max(1e-3, medians[2] - medians[3]):F2}");
            Console.WriteLine($"ratio Cxas full read / dcmdjpeg:            {medians[1] / medians[2]:F2}");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static void Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} failed: {err}");
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static void Text(Stream s, int g, int e, string vr, string value)
    {
        var b = System.Text.Encoding.ASCII.GetBytes(value.Length % 2 == 1 ? value + (vr == "UI" ? "\0" : " ") : value);
        Element(s, g, e, vr, b);
    }

    /// <summary>One explicit VR little endian element.</summary>
    private static void Element(Stream s, int g, int e, string vr, byte[] value)
    {
        s.Write(BitConverter.GetBytes((ushort)g));
        s.Write(BitConverter.GetBytes((ushort)e));
        s.Write(System.Text.Encoding.ASCII.GetBytes(vr));
        if (vr == "OB" || vr == "OW") { s.Write(new byte[2]); s.Write(BitConverter.GetBytes((uint)value.Length)); }
        else s.Write(BitConverter.GetBytes((ushort)value.Length));
        s.Write(value);
    }

    /// <summary>A 3000x2500 16-bit synthetic CR (smooth anatomy-like structure plus noise), JPEG lossless SV1 via dcmcjpeg.</summary>
    private static string MakeCr(string dir)
    {
        const int rows = 3000, cols = 2500;
        var rng = new Random(42);
        var pixels = new byte[rows * cols * 2];
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++)
            {
                double dx = (x - cols / 2.0) / cols, dy = (y - rows / 2.0) / rows;
                double body = Math.Exp(-(dx * dx * 5 + dy * dy * 3));
                double v = 0.08 + 0.75 * body + 0.1 * Math.Sin(y * 0.02) * body + (rng.NextDouble() - 0.5) * 0.01;
                int q = Math.Max(0, Math.Min(65535, (int)(v * 65535)));
                pixels[2 * (y * cols + x)] = (byte)q;
                pixels[2 * (y * cols + x) + 1] = (byte)(q >> 8);
            }
        var raw = Path.Combine(dir, "cr-native.dcm");
        using (var fs = File.Create(raw))
        {
            var meta = new MemoryStream();
            const string instance = "2.25.98765432101234567890";
            Element(meta, 0x0002, 0x0001, "OB", new byte[] { 0, 1 });
            Text(meta, 0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.1");
            Text(meta, 0x0002, 0x0003, "UI", instance);
            Text(meta, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
            fs.Write(new byte[128], 0, 128);
            fs.Write("DICM"u8.ToArray(), 0, 4);
            Element(fs, 0x0002, 0x0000, "UL", BitConverter.GetBytes((uint)meta.Length));
            meta.Position = 0;
            meta.CopyTo(fs);
            Text(fs, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.1");
            Text(fs, 0x0008, 0x0018, "UI", instance);
            Text(fs, 0x0008, 0x0060, "CS", "CR");
            Text(fs, 0x0010, 0x0020, "LO", "BENCH");
            Text(fs, 0x0020, 0x000D, "UI", "2.25.11111111111111111111");
            Text(fs, 0x0020, 0x000E, "UI", "2.25.22222222222222222222");
            Element(fs, 0x0028, 0x0002, "US", BitConverter.GetBytes((ushort)1));
            Text(fs, 0x0028, 0x0004, "CS", "MONOCHROME2");
            Element(fs, 0x0028, 0x0010, "US", BitConverter.GetBytes((ushort)rows));
            Element(fs, 0x0028, 0x0011, "US", BitConverter.GetBytes((ushort)cols));
            Element(fs, 0x0028, 0x0100, "US", BitConverter.GetBytes((ushort)16));
            Element(fs, 0x0028, 0x0101, "US", BitConverter.GetBytes((ushort)16));
            Element(fs, 0x0028, 0x0102, "US", BitConverter.GetBytes((ushort)15));
            Element(fs, 0x0028, 0x0103, "US", BitConverter.GetBytes((ushort)0));
            Element(fs, 0x7FE0, 0x0010, "OW", pixels);
        }
        var dcmcjpeg = Which("dcmcjpeg") ?? throw new InvalidOperationException("dcmcjpeg not found (apt-get install dcmtk).");
        var jpeg = Path.Combine(dir, "cr-3000x2500-16bit-jpeg-lossless.dcm");
        Run(dcmcjpeg, "+e1", raw, jpeg);
        return jpeg;
    }
}
