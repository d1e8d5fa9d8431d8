using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Cxas.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace Cxas.Testing
{
    /// <summary>
    /// A fixed-seed mutation run over PNG and JPEG files made from real radiographs, shared by the xunit test (a subset)
    /// and <c>bench/Cxas.Bench.Mutation</c> (the full run). In order:
    /// 1. seeds: each source radiograph brought to at most 512 pixels a side by PIL and written as PNG (8-bit grey,
    ///    16-bit grey, RGB or palette, some with text chunks), Adam7-interlaced PNG (ImageSharp), baseline JPEG and
    ///    progressive 4:2:0 JPEG (PIL); every seed must decode unmutated;
    /// 2. mutations, in batches of files written to a work folder: bit flips, truncation, truncation re-closed with IEND
    ///    or EOI, chunk lengths and CRCs, IDAT bytes with the CRC recomputed (zlib stream damage), IDAT cut inside with
    ///    length and CRC fixed, IHDR and SOF fields, DHT/DQT/SOS bytes, entropy-coded bytes (Huffman stream), segments
    ///    and chunks removed or repeated, and zTXt/iTXt/iCCP decompression bombs (2 MiB to 512 MiB inflated);
    /// 3. each file through <see cref="ImageLoader.Load"/> on a watched thread: a result, a <see cref="CxasException"/>
    ///    kind, another exception, or a hang (past <see cref="Options.HangSeconds"/>, which ends the run); time and bytes
    ///    allocated per file (ImageSharp allocating from the GC meanwhile, so that every buffer counts); the file in hand is named in <c>in-progress.txt</c> so a crash of the process is traceable;
    /// 4. PIL, in one python process per batch running beside, decodes each file fully (any exception = damaged);
    /// 5. a report: counts per outcome and per mutation, files over 10 s, the slowest file, peak working set, the
    ///    largest allocation per decoded pixel, results that allocated more than <see cref="ImageLimits.DecodeMemoryBound"/>,
    ///    and every file that gave a result although PIL rejects it.
    /// </summary>
    public sealed class ImageMutationHarness
    {
        public sealed class Options
        {
            public int Seed = 20261130;
            public int Files = 1500;
            public int Sources = 8;
            public int BatchSize = 250;
            public double SlowSeconds = 10;
            public double HangSeconds = 120;
            public string SharedRoot = "";
            public string WorkDir = "";
            public Action<string> Log = _ => { };
        }

        public sealed class Report
        {
            public int Files, Seeds, PilRejected, PilAcceptedCxasRejected, Hangs;
            public readonly SortedDictionary<string, int> Outcomes = new SortedDictionary<string, int>();
            public readonly SortedDictionary<string, (int Results, int Errors)> ByMutation = new SortedDictionary<string, (int, int)>();
            public readonly SortedDictionary<string, int> PilOnlyByMutation = new SortedDictionary<string, int>();
            public readonly List<string> NonCxasErrors = new List<string>();
            public readonly List<string> UnexpectedInner = new List<string>();
            public readonly List<string> ResultsPilRejects = new List<string>();
            public readonly List<string> Slow = new List<string>();
            public readonly List<string> OverMemoryBound = new List<string>();
            public double MaxSeconds, TotalSeconds, WallSeconds;
            public string Slowest = "";
            public long PeakWorkingSet, MaxAllocated;
            public string MaxAllocatedFile = "";
            public double MaxBytesPerPixel;
            public string MaxBytesPerPixelFile = "";

            public IEnumerable<string> Lines()
            {
                yield return $"{Files} mutated files from {Seeds} seeds (real radiographs): {TotalSeconds:F0} s of decoding, {WallSeconds:F0} s in all (PIL beside)";
                foreach (var kv in Outcomes) yield return $"  {kv.Key}: {kv.Value}";
                yield return $"PIL rejects {PilRejected} as damaged; Cxas gave a result for {ResultsPilRejects.Count} of them; " +
                             $"PIL decodes {PilAcceptedCxasRejected} that Cxas refuses";
                yield return $"non-Cxas errors: {NonCxasErrors.Count}; Cxas errors wrapping an unexpected exception: {UnexpectedInner.Count}; hangs: {Hangs}";
                yield return $"slowest file: {MaxSeconds:F2} s ({Slowest}); files over the slow limit: {Slow.Count}";
                yield return $"peak working set: {PeakWorkingSet / 1048576.0:F0} MiB; largest allocation for one file: {MaxAllocated / 1048576.0:F1} MiB ({MaxAllocatedFile}); " +
                             $"most bytes allocated per decoded pixel: {MaxBytesPerPixel:F1} ({MaxBytesPerPixelFile})";
                yield return "per mutation: results / errors (of which PIL decodes)";
                foreach (var kv in ByMutation)
                    yield return $"  {kv.Key}: {kv.Value.Results} / {kv.Value.Errors} ({(PilOnlyByMutation.TryGetValue(kv.Key, out var n) ? n : 0)})";
                yield return $"results allocating more than ImageLimits.DecodeMemoryBound: {OverMemoryBound.Count}";
                foreach (var l in NonCxasErrors.Concat(UnexpectedInner).Concat(ResultsPilRejects).Concat(Slow).Concat(OverMemoryBound).Take(60)) yield return "  ! " + l;
            }
        }

        private readonly Options _o;
        private readonly Random _rng;
        private readonly Dictionary<int, byte[]> _bombs = new Dictionary<int, byte[]>();

        public ImageMutationHarness(Options options)
        {
            _o = options;
            _rng = new Random(options.Seed);
        }

        /// <summary>The source radiographs: every PNG under samples/ and data/cxr-seg/*/images, sorted, evenly thinned.</summary>
        public static List<string> FindSources(string sharedRoot, int count)
        {
            var all = new List<string>();
            var samples = Path.Combine(sharedRoot, "samples");
            if (Directory.Exists(samples)) all.AddRange(Directory.GetFiles(samples, "*.png"));
            var data = Path.Combine(sharedRoot, "data", "cxr-seg");
            if (Directory.Exists(data))
                foreach (var dir in Directory.GetDirectories(data).OrderBy(d => d, StringComparer.Ordinal))
                {
                    var images = Path.Combine(dir, "images");
                    if (Directory.Exists(images)) all.AddRange(Directory.GetFiles(images, "*.png").OrderBy(f => f, StringComparer.Ordinal));
                }
            if (all.Count <= count) return all;
            return Enumerable.Range(0, count).Select(i => all[(int)((long)i * all.Count / count)]).ToList();
        }

        private const string SeedScript = @"
import sys, numpy as np
from PIL import Image, PngImagePlugin
out = sys.argv[1]
for i, src in enumerate(sys.argv[2:]):
    im = Image.open(src)
    im.load()
    g = im.convert('L')
    s = 512.0 / max(g.size)
    if s < 1:
        g = g.resize((max(1, round(g.size[0] * s)), max(1, round(g.size[1] * s))), Image.BILINEAR)
    base = '%s/seed%03d' % (out, i)
    kind = i % 4
    info = PngImagePlugin.PngInfo()
    if kind == 0:
        g.save(base + '.png')
    elif kind == 1:
        a = np.asarray(g).astype(np.uint16) * 257 + (np.arange(g.size[0], dtype=np.uint16) % 7)
        Image.fromarray(a).save(base + '.png')
    elif kind == 2:
        info.add_text('Comment', 'radiograph %d' % i, zip=True)
        info.add_itxt('Description', 'chest x-ray ' * 20, zip=True)
        g.convert('RGB').save(base + '.png', pnginfo=info)
    else:
        info.add_text('Source', 'seed %d' % i)
        g.quantize(200).save(base + '.png', pnginfo=info)
    g.save(base + '.jpg', quality=90)
    g.convert('RGB').save(base + '-p.jpg', quality=85, progressive=True, subsampling=2)
";

        /// <summary>One decode run of PIL per file: "ok" or "bad: reason" per line of input paths.</summary>
        public const string PilOracleScript = @"
import sys, warnings
from PIL import Image, ImageFile
ImageFile.LOAD_TRUNCATED_IMAGES = False
warnings.simplefilter('ignore')
for line in sys.stdin:
    p = line.rstrip('\n')
    try:
        with Image.open(p) as im:
            im.load()
        r = 'ok'
    except BaseException as e:
        r = 'bad: ' + type(e).__name__ + ': ' + str(e)[:160].replace('\n', ' ')
    sys.stdout.write(r + '\n')
    sys.stdout.flush()
";

        /// <summary>Starts PIL on <paramref name="files"/>; the task gives "ok" or "bad: ..." per file.</summary>
        public static Task<string[]> PilDecodes(IReadOnlyList<string> files)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(PilOracleScript);
            var p = Process.Start(psi)!;
            return Task.Run(() =>
            {
                var stderr = p.StandardError.ReadToEndAsync();
                var stdout = p.StandardOutput.ReadToEndAsync();
                foreach (var f in files) p.StandardInput.WriteLine(f);
                p.StandardInput.Close();
                p.WaitForExit();
                var lines = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (lines.Length != files.Count) throw new InvalidOperationException($"PIL answered {lines.Length} of {files.Count} files: {stderr.Result}");
                p.Dispose();
                return lines;
            });
        }

        /// <summary>Runs Debian's python3 with a script; returns stdout; throws with stderr on failure.</summary>
        public static string RunPython(string script, IEnumerable<string> args)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(script);
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"python3 failed ({p.ExitCode}): {stderr}");
            return stdout.Result;
        }

        public List<(string Name, byte[] Data)> MakeSeeds(IReadOnlyList<string> sources)
        {
            var dir = Path.Combine(_o.WorkDir, "seeds");
            Directory.CreateDirectory(dir);
            RunPython(SeedScript, new[] { dir }.Concat(sources));
            var seeds = new List<(string, byte[])>();
            foreach (var file in Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal))
            {
                seeds.Add((Path.GetFileName(file), File.ReadAllBytes(file)));
                if (file.EndsWith(".png", StringComparison.Ordinal) && seeds.Count % 3 == 0)
                {
                    var interlaced = Path.Combine(dir, Path.GetFileNameWithoutExtension(file) + "-adam7.png");
                    using (var image = SixLabors.ImageSharp.Image.Load<L8>(file))
                        image.Save(interlaced, new PngEncoder { InterlaceMethod = PngInterlaceMode.Adam7, ColorType = PngColorType.Grayscale });
                    seeds.Add((Path.GetFileName(interlaced), File.ReadAllBytes(interlaced)));
                }
            }
            foreach (var (name, _) in seeds) ImageLoader.Load(Path.Combine(dir, name)); // every seed decodes unmutated
            return seeds;
        }

        public Report Run()
        {
            Directory.CreateDirectory(_o.WorkDir);
            var sources = FindSources(_o.SharedRoot, _o.Sources);
            if (sources.Count == 0) throw new InvalidOperationException($"no radiographs under {_o.SharedRoot}");
            var seeds = MakeSeeds(sources);
            var report = new Report { Seeds = seeds.Count };
            _o.Log($"{seeds.Count} seeds from {sources.Count} radiographs; {_o.Files} mutated files");
            var failures = Path.Combine(_o.WorkDir, "failures");
            var marker = Path.Combine(_o.WorkDir, "in-progress.txt");
            var batchDir = Path.Combine(_o.WorkDir, "batch");
            var clock = Stopwatch.StartNew();
            RunBatches(seeds, report, batchDir, marker, failures, clock);
            File.Delete(marker);
            report.WallSeconds = clock.Elapsed.TotalSeconds;
            report.PeakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64;
            return report;
        }

        private void RunBatches(List<(string Name, byte[] Data)> seeds, Report report, string batchDir, string marker, string failures, Stopwatch clock)
        {
            for (int first = 0; first < _o.Files && report.Hangs == 0; first += _o.BatchSize)
            {
                if (Directory.Exists(batchDir)) Directory.Delete(batchDir, true);
                Directory.CreateDirectory(batchDir);
                var batch = new List<(string Path, string Mutation)>();
                for (int i = first; i < Math.Min(_o.Files, first + _o.BatchSize); i++)
                {
                    var (name, data) = seeds[i % seeds.Count];
                    bool png = name.EndsWith(".png", StringComparison.Ordinal);
                    var (mutation, mutated) = png ? MutatePng(data) : MutateJpeg(data);
                    var file = Path.Combine(batchDir, $"m{i:D5}-{Path.GetFileNameWithoutExtension(name)}-{mutation}{(png ? ".png" : ".jpg")}");
                    File.WriteAllBytes(file, mutated);
                    batch.Add((file, mutation));
                }
                var pil = PilDecodes(batch.Select(b => b.Path).ToList());
                var ours = new List<(string Outcome, Exception? Error)>();
                foreach (var (file, mutation) in batch)
                {
                    File.WriteAllText(marker, file);
                    var (outcome, error, seconds, allocated, pixels) = Decode(file);
                    ours.Add((outcome, error));
                    report.Files++;
                    report.TotalSeconds += seconds;
                    if (outcome == "hang") { report.Hangs++; break; }
                    if (seconds > report.MaxSeconds) { report.MaxSeconds = seconds; report.Slowest = Path.GetFileName(file); }
                    if (seconds > _o.SlowSeconds) report.Slow.Add($"{Path.GetFileName(file)}: {seconds:F1} s");
                    if (allocated > report.MaxAllocated) { report.MaxAllocated = allocated; report.MaxAllocatedFile = Path.GetFileName(file); }
                    long bound = ImageLimits.DecodeMemoryBound(pixels, new FileInfo(file).Length);
                    if (pixels > 0 && allocated > bound)
                    {
                        report.OverMemoryBound.Add($"{Path.GetFileName(file)}: {allocated:N0} bytes allocated for {pixels:N0} pixels, bound {bound:N0}");
                        Keep(file, failures);
                    }
                    if (pixels > 0 && (double)allocated / pixels > report.MaxBytesPerPixel) { report.MaxBytesPerPixel = (double)allocated / pixels; report.MaxBytesPerPixelFile = Path.GetFileName(file); }
                    report.Outcomes[outcome] = report.Outcomes.TryGetValue(outcome, out var n) ? n + 1 : 1;
                    report.ByMutation.TryGetValue(mutation, out var bm);
                    report.ByMutation[mutation] = outcome == "result" ? (bm.Results + 1, bm.Errors) : (bm.Results, bm.Errors + 1);
                    if (error != null && !(error is CxasException))
                        report.NonCxasErrors.Add($"{Path.GetFileName(file)}: {error.GetType().Name}: {error.Message}");
                    else if (error?.InnerException is Exception inner && IsUnexpected(inner))
                        report.UnexpectedInner.Add($"{Path.GetFileName(file)}: {inner.GetType().Name}: {inner.Message} {inner.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
                }
                var verdicts = pil.Result;
                for (int k = 0; k < ours.Count; k++)
                {
                    bool pilRejects = verdicts[k].StartsWith("bad", StringComparison.Ordinal);
                    if (pilRejects) report.PilRejected++;
                    if (pilRejects && ours[k].Outcome == "result")
                    {
                        report.ResultsPilRejects.Add($"{Path.GetFileName(batch[k].Path)}: PIL {verdicts[k]}");
                        Keep(batch[k].Path, failures);
                    }
                    if (!pilRejects && ours[k].Outcome != "result")
                    {
                        report.PilAcceptedCxasRejected++;
                        report.PilOnlyByMutation[batch[k].Mutation] = report.PilOnlyByMutation.TryGetValue(batch[k].Mutation, out var m) ? m + 1 : 1;
                    }
                }
                _o.Log($"  {report.Files} files, {clock.Elapsed.TotalSeconds:F0} s: " + string.Join(", ", report.Outcomes.Select(kv => $"{kv.Key} {kv.Value}")) +
                       $"; results PIL rejects: {report.ResultsPilRejects.Count}");
            }
        }

        private static void Keep(string file, string failures)
        {
            Directory.CreateDirectory(failures);
            File.Copy(file, Path.Combine(failures, Path.GetFileName(file)), true);
        }

        /// <summary>Exceptions inside a Cxas error that mean a bug rather than bad data.</summary>
        private static bool IsUnexpected(Exception e) =>
            e is IndexOutOfRangeException || e is NullReferenceException || e is ArgumentException || e is InvalidCastException
            || e is OverflowException || e is DivideByZeroException || e is OutOfMemoryException || e is StackOverflowException;

        private (string Outcome, Exception? Error, double Seconds, long Allocated, long Pixels) Decode(string file)
        {
            string outcome = "hang";
            Exception? error = null;
            long pixels = 0, allocated = 0;
            var watch = Stopwatch.StartNew();
            // Allocation is counted on the decoding thread itself: tests running in parallel allocate in the same process.
            var thread = new Thread(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    // Counted: this read's ImageSharp buffers come from the GC, so the thread's allocation sees them.
                    var image = ImageLoader.Load(file, ImageReadOptions.Counting);
                    pixels = (long)image.Width * image.Height;
                    outcome = "result";
                }
                catch (CxasException ex)
                {
                    error = ex;
                    outcome = "Cxas." + ex.Kind;
                }
                catch (Exception ex)
                {
                    error = ex;
                    outcome = "other:" + ex.GetType().Name;
                }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }, 16 << 20);
            thread.IsBackground = true;
            thread.Start();
            if (!thread.Join(TimeSpan.FromSeconds(_o.HangSeconds))) return ("hang", null, watch.Elapsed.TotalSeconds, 0, 0);
            double seconds = watch.Elapsed.TotalSeconds;
            return (outcome, error, seconds, allocated, pixels);
        }

        // ---------------------------------------------------------------- mutations of either format

        private byte[] FlipBits(byte[] d)
        {
            for (int i = _rng.Next(1, 9); i > 0; i--) d[_rng.Next(d.Length)] ^= (byte)(1 << _rng.Next(8));
            return d;
        }

        private byte[] Truncate(byte[] d, int min) => d.Take(_rng.Next(min, d.Length)).ToArray();

        /// <summary>Bytes [offset, offset + length) removed or written twice (every later offset shifts).</summary>
        private byte[] DropOrRepeat(byte[] d, int offset, int length)
        {
            var bytes = d.Skip(offset).Take(length);
            var rest = d.Skip(offset + length);
            return (_rng.Next(2) == 0 ? d.Take(offset).Concat(rest) : d.Take(offset).Concat(bytes).Concat(bytes).Concat(rest)).ToArray();
        }

        // ---------------------------------------------------------------- PNG mutations

        private static List<(int Offset, int Length, string Type)> Chunks(byte[] d)
        {
            var list = new List<(int, int, string)>();
            int p = 8;
            while (p + 12 <= d.Length)
            {
                int len = (int)Math.Min(int.MaxValue, ((long)d[p] << 24) | ((long)d[p + 1] << 16) | ((long)d[p + 2] << 8) | d[p + 3]);
                if (p + 12L + len > d.Length) break;
                list.Add((p, len, Encoding.ASCII.GetString(d, p + 4, 4)));
                p += 12 + len;
            }
            return list;
        }

        /// <summary>CRC-32 of PNG chunks, written independently of Cxas.Core's.</summary>
        public static uint Crc(byte[] d, int offset, int count)
        {
            uint c = 0xFFFFFFFF;
            for (int i = offset; i < offset + count; i++)
            {
                c ^= d[i];
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }
            return c ^ 0xFFFFFFFF;
        }

        private static void PutBE(byte[] d, int o, uint v)
        {
            d[o] = (byte)(v >> 24); d[o + 1] = (byte)(v >> 16); d[o + 2] = (byte)(v >> 8); d[o + 3] = (byte)v;
        }

        private static void FixCrc(byte[] d, int chunk, int length) => PutBE(d, chunk + 8 + length, Crc(d, chunk + 4, 4 + length));

        private static byte[] MakeChunk(string type, byte[] data)
        {
            var c = new byte[12 + data.Length];
            PutBE(c, 0, (uint)data.Length);
            Encoding.ASCII.GetBytes(type, 0, 4, c, 4);
            Array.Copy(data, 0, c, 8, data.Length);
            FixCrc(c, 0, data.Length);
            return c;
        }

        private static readonly byte[] Iend = { 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82 };

        /// <summary>A zlib stream of <paramref name="mebibytes"/> MiB of zeros (small on disk).</summary>
        public static byte[] ZeroBomb(int mebibytes)
        {
            using var ms = new MemoryStream();
            using (var z = new ZLibStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var zeros = new byte[1 << 20];
                for (int i = 0; i < mebibytes; i++) z.Write(zeros, 0, zeros.Length);
            }
            return ms.ToArray();
        }

        /// <summary>A PNG with a zTXt, compressed iTXt or iCCP chunk holding <paramref name="zlib"/>, placed before the first IDAT.</summary>
        public static byte[] WithCompressedChunk(byte[] png, string type, byte[] zlib)
        {
            var prefix = type switch
            {
                "zTXt" => Encoding.ASCII.GetBytes("Comment\0\0"),
                "iTXt" => Encoding.ASCII.GetBytes("Comment\0\u0001\0\0\0"),
                _ => Encoding.ASCII.GetBytes("ICC profile\0\0"),
            };
            var chunk = MakeChunk(type, prefix.Concat(zlib).ToArray());
            int at = Chunks(png).First(c => c.Type == "IDAT").Offset;
            return png.Take(at).Concat(chunk).Concat(png.Skip(at)).ToArray();
        }

        private byte[] Bomb(int mebibytes)
        {
            if (!_bombs.TryGetValue(mebibytes, out var z)) _bombs[mebibytes] = z = ZeroBomb(mebibytes);
            return z;
        }

        private (string, byte[]) MutatePng(byte[] data)
        {
            var d = (byte[])data.Clone();
            var chunks = Chunks(d);
            var idats = chunks.Where(c => c.Type == "IDAT").ToList();
            var ihdr = chunks[0];
            switch (_rng.Next(10))
            {
                case 0:
                    return ("bitflip", FlipBits(d));
                case 1:
                    return ("truncate", Truncate(d, 8));
                case 2:
                    return ("cut-iend", d.Take(_rng.Next(33, d.Length - 12)).Concat(Iend).ToArray());
                case 3:
                {
                    var c = chunks[_rng.Next(chunks.Count)];
                    uint[] values = { 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0, (uint)(c.Length + _rng.Next(1, 64)), (uint)Math.Max(0, c.Length - _rng.Next(1, 64)), (uint)_rng.Next() };
                    PutBE(d, c.Offset, values[_rng.Next(values.Length)]);
                    return ("chunk-length", d);
                }
                case 4:
                {
                    var c = chunks[_rng.Next(chunks.Count)];
                    d[c.Offset + 8 + c.Length + _rng.Next(4)] ^= (byte)(1 << _rng.Next(8));
                    return ("chunk-crc", d);
                }
                case 5:
                {
                    var c = idats[_rng.Next(idats.Count)];
                    for (int i = _rng.Next(1, 4); i > 0; i--)
                    {
                        int at = c.Offset + 8 + _rng.Next(c.Length);
                        if (_rng.Next(2) == 0) d[at] ^= (byte)(1 << _rng.Next(8)); else d[at] = (byte)_rng.Next(256);
                    }
                    FixCrc(d, c.Offset, c.Length);
                    return ("idat-zlib", d);
                }
                case 6:
                {
                    int field = _rng.Next(5);
                    int o = ihdr.Offset + 8;
                    if (field < 2)
                    {
                        uint old = (uint)((d[o + 4 * field] << 24) | (d[o + 4 * field + 1] << 16) | (d[o + 4 * field + 2] << 8) | d[o + 4 * field + 3]);
                        uint[] values = { old * 2, old + 1, old - 1, old * 24, 12000, 30000, 65535, 0, 0x80000000, (uint)_rng.Next(1, 5000) };
                        PutBE(d, o + 4 * field, values[_rng.Next(values.Length)]);
                    }
                    else d[o + 6 + field] = (byte)(field == 4 ? _rng.Next(3) : new[] { 1, 2, 4, 8, 16, 0, 3, 6 }[_rng.Next(8)]);
                    FixCrc(d, ihdr.Offset, ihdr.Length);
                    return ("ihdr", d);
                }
                case 7:
                {
                    var c = chunks[_rng.Next(chunks.Count)];
                    return ("chunk-drop-repeat", DropOrRepeat(d, c.Offset, c.Length + 12));
                }
                case 8:
                {
                    var type = new[] { "zTXt", "iTXt", "iCCP" }[_rng.Next(3)];
                    int size = new[] { 2, 2, 8, 64, 512 }[_rng.Next(5)];
                    return ("bomb-" + type, WithCompressedChunk(d, type, Bomb(size)));
                }
                default:
                {
                    // The zlib stream cut inside the last IDAT, the chunk's length and CRC made right again.
                    var c = idats[idats.Count - 1];
                    int keep = _rng.Next(c.Length);
                    var cut = d.Take(c.Offset + 8 + keep).Concat(new byte[4]).Concat(d.Skip(c.Offset + 12 + c.Length)).ToArray();
                    PutBE(cut, c.Offset, (uint)keep);
                    FixCrc(cut, c.Offset, keep);
                    return ("idat-cut", cut);
                }
            }
        }

        // ---------------------------------------------------------------- JPEG mutations

        /// <summary>Marker segments: (offset of FF, marker, length field); the entropy-coded data follow each SOS.</summary>
        private static List<(int Offset, int Marker, int Length)> Segments(byte[] d)
        {
            var list = new List<(int, int, int)>();
            int p = 2;
            while (p + 4 <= d.Length)
            {
                if (d[p] != 0xFF || d[p + 1] == 0x00 || d[p + 1] == 0xFF || (d[p + 1] >= 0xD0 && d[p + 1] <= 0xD7)) { p++; continue; }
                int m = d[p + 1];
                if (m == 0xD9) break;
                int len = (d[p + 2] << 8) | d[p + 3];
                list.Add((p, m, len));
                p += 2 + len;
            }
            return list;
        }

        private (string, byte[]) MutateJpeg(byte[] data)
        {
            var d = (byte[])data.Clone();
            var segs = Segments(d);
            var scans = segs.Where(s => s.Marker == 0xDA).ToList();
            var sof = segs.First(s => s.Marker >= 0xC0 && s.Marker <= 0xC2);
            var scan = scans[_rng.Next(scans.Count)];
            int dataStart = scan.Offset + 2 + scan.Length;
            int next = segs.Where(s => s.Offset > scan.Offset).Select(s => s.Offset).DefaultIfEmpty(d.Length - 2).First();
            int entropyLength = Math.Max(1, next - dataStart);
            switch (_rng.Next(10))
            {
                case 0:
                    return ("bitflip", FlipBits(d));
                case 1:
                    return ("truncate", Truncate(d, 2));
                case 2:
                    return ("cut-eoi", d.Take(dataStart + _rng.Next(entropyLength)).Concat(new byte[] { 0xFF, 0xD9 }).ToArray());
                case 3:
                {
                    int field = sof.Offset + 5 + 2 * _rng.Next(2);
                    int old = (d[field] << 8) | d[field + 1];
                    int[] values = { old * 2, old + 8, old + 1, old * 23, 12000, 65535, 0, 1, _rng.Next(1, 65536) };
                    int v = Math.Min(65535, values[_rng.Next(values.Length)]);
                    d[field] = (byte)(v >> 8);
                    d[field + 1] = (byte)v;
                    return ("sof-size", d);
                }
                case 4:
                {
                    var s = segs[_rng.Next(segs.Count)];
                    int[] values = { 0, 1, 2, 0xFFFF, s.Length + _rng.Next(1, 40), Math.Max(0, s.Length - _rng.Next(1, 40)), _rng.Next(65536) };
                    int v = values[_rng.Next(values.Length)];
                    d[s.Offset + 2] = (byte)(v >> 8);
                    d[s.Offset + 3] = (byte)v;
                    return ("segment-length", d);
                }
                case 5:
                {
                    var tables = segs.Where(s => s.Marker == 0xC4 || s.Marker == 0xDB).ToList();
                    var s = tables[_rng.Next(tables.Count)];
                    for (int i = _rng.Next(1, 4); i > 0; i--) d[s.Offset + 4 + _rng.Next(Math.Max(1, s.Length - 2))] = (byte)_rng.Next(256);
                    return (s.Marker == 0xC4 ? "dht" : "dqt", d);
                }
                case 6:
                case 7:
                {
                    for (int i = _rng.Next(1, 6); i > 0; i--)
                    {
                        int at = dataStart + _rng.Next(entropyLength);
                        if (_rng.Next(2) == 0) d[at] ^= (byte)(1 << _rng.Next(8)); else d[at] = (byte)_rng.Next(256);
                    }
                    return ("huffman-data", d);
                }
                case 8:
                {
                    var s = _rng.Next(2) == 0 ? sof : scan;
                    d[s.Offset + 4 + _rng.Next(Math.Max(1, s.Length - 2))] = (byte)_rng.Next(256);
                    return (s.Marker == 0xDA ? "sos-fields" : "sof-fields", d);
                }
                default:
                {
                    if (_rng.Next(2) == 0)
                    {
                        // entropy-coded bytes removed from the middle of a scan
                        int at = dataStart + _rng.Next(entropyLength), n = _rng.Next(1, 200);
                        return ("huffman-cut", d.Take(at).Concat(d.Skip(Math.Min(d.Length - 2, at + n))).ToArray());
                    }
                    var s = segs[_rng.Next(segs.Count)];
                    return ("segment-drop-repeat", DropOrRepeat(d, s.Offset, s.Length + 2));
                }
            }
        }
    }
}
