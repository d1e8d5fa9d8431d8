using System.Diagnostics;
using System.Text;
using System.Threading.Tasks;
using Cxas.Dicom;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>Corrupt, truncated and sloppy files: only <see cref="CxasException"/>, never another exception, hang or OOM.</summary>
    public sealed class HostileInputTests : TempFolderTests
    {
        public HostileInputTests(ITestOutputHelper output) : base("cxas-hostile", output) { }

        /// <summary>Small seed files in as many encodings as the installed tools can make (explicit LE always).</summary>
        private List<(string Name, byte[] Data)> Seeds()
        {
            var seeds = new List<(string, byte[])>();
            var src = Path.Combine(Dir, "seed.dcm");
            SyntheticDicom.Write(src, SyntheticDicom.Image(40, 48, 12, 1), new SyntheticDicom.Options { Rows = 40, Columns = 48, WindowCenter = 2000, WindowWidth = 1000 });
            seeds.Add(("explicit-le", File.ReadAllBytes(src)));
            var src8 = Path.Combine(Dir, "seed8.dcm");
            SyntheticDicom.Write(src8, SyntheticDicom.Image(40, 48, 8, 2), new SyntheticDicom.Options { Rows = 40, Columns = 48, BitsAllocated = 8, BitsStored = 8 });
            var multi = Path.Combine(Dir, "multi.dcm");
            SyntheticDicom.Write(multi, SyntheticDicom.Image(24, 32, 12, 3), new SyntheticDicom.Options { Rows = 24, Columns = 32, Frames = 2 });
            var conversions = new (string Name, string Tool, string[] Args, string Source)[]
            {
                ("implicit", "dcmconv", new[] { "+ti" }, src), ("dataset-only", "dcmconv", new[] { "+ti", "-F" }, src),
                ("big-endian", "dcmconv", new[] { "+tb" }, src), ("deflated", "dcmconv", new[] { "+td" }, src),
                ("rle", "dcmcrle", Array.Empty<string>(), src), ("jpeg-lossless", "dcmcjpeg", new[] { "+el", "+sv", "6" }, src),
                ("jpeg-multi-nobot", "dcmcjpeg", new[] { "+e1", "+fs", "1", "-ot" }, multi), ("jpeg-extended", "dcmcjpeg", new[] { "+ee" }, src),
                ("jpeg-baseline", "dcmcjpeg", new[] { "+eb" }, src8), ("jpegls", "dcmcjpls", Array.Empty<string>(), src),
                ("j2k", "gdcmconv", new[] { "--j2k" }, src),
            };
            foreach (var (name, toolName, args, source) in conversions)
            {
                var tool = TestSupport.Tool(toolName);
                if (tool == null)
                {
                    // Without the encoder this seed is missing from the mutation run: a gap CI must not pass over.
                    if (Oracles.Required) Assert.Fail($"{toolName} is missing (seed {name}); CXAS_REQUIRE_ORACLES=1 forbids skipping.");
                    Out.WriteLine($"seed {name} left out: {toolName} missing");
                    continue;
                }
                var dst = Path.Combine(Dir, name + ".dcm");
                var r = TestSupport.Run(tool, args.Concat(new[] { source, dst }).ToArray());
                Assert.True(r.Exit == 0, r.Err);
                seeds.Add((name, File.ReadAllBytes(dst)));
            }
            return seeds;
        }

        private static byte[] Mutate(byte[] data, Random rng)
        {
            var d = (byte[])data.Clone();
            // Most interesting bytes are in the header and the start of the pixel data: bias positions towards the front.
            int Pos() => rng.NextDouble() < 0.6 ? rng.Next(Math.Min(d.Length, 1200)) : rng.Next(d.Length);
            switch (rng.Next(6))
            {
                case 0: // truncation
                    return d.Take(rng.Next(d.Length)).ToArray();
                case 1: // a few bit flips
                    for (int i = rng.Next(1, 9); i > 0; i--) d[Pos()] ^= (byte)(1 << rng.Next(8));
                    return d;
                case 2: // a corrupt 16- or 32-bit length/value
                {
                    int p = Pos() & ~1;
                    var values = new uint[] { 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0, 1, 0xFFFF, 0xFFFE, (uint)rng.Next() };
                    uint v = values[rng.Next(values.Length)];
                    for (int i = 0; i < 4 && p + i < d.Length; i++) d[p + i] = (byte)(v >> (8 * i));
                    return d;
                }
                case 3: // a run of random bytes
                {
                    int p = Pos(), n = rng.Next(1, 16);
                    for (int i = 0; i < n && p + i < d.Length; i++) d[p + i] = (byte)rng.Next(256);
                    return d;
                }
                case 4: // flips and a truncation
                    for (int i = rng.Next(1, 4); i > 0; i--) d[Pos()] ^= (byte)(1 << rng.Next(8));
                    return d.Take(rng.Next(d.Length / 2, d.Length)).ToArray();
                default: // duplicated or removed chunk (shifts every later offset)
                {
                    int p = Pos(), n = rng.Next(1, 64);
                    var list = d.ToList();
                    if (rng.Next(2) == 0 && p + n <= list.Count) list.RemoveRange(p, n);
                    else list.InsertRange(p, d.Skip(p).Take(n));
                    return list.ToArray();
                }
            }
        }

        [Fact]
        public async Task TenThousandMutatedFilesFailOnlyWithCxasException()
        {
            var seeds = Seeds();
            foreach (var (name, data) in seeds) DicomImageReader.Decode(name, data); // every seed decodes unmutated
            const int total = 10_500;
            var rng = new Random(20261128);
            var outcomes = new Dictionary<string, int>();
            var failures = new List<string>();
            int current = 0;
            var watch = Stopwatch.StartNew();
            long slowest = 0;
            string slowestName = "";
            var run = Task.Run(() =>
            {
                for (current = 0; current < total; current++)
                {
                    var (name, data) = seeds[current % seeds.Count];
                    var mutated = Mutate(data, rng);
                    var t0 = watch.ElapsedMilliseconds;
                    string outcome;
                    try
                    {
                        DicomImageReader.Decode($"{name}#{current}", mutated);
                        outcome = "decoded";
                    }
                    catch (CxasException ex)
                    {
                        outcome = "CxasException." + ex.Kind;
                        if (ex.FilePath != $"{name}#{current}") failures.Add($"{name}#{current}: exception without the file path: {ex.Message}");
                    }
                    catch (Exception ex)
                    {
                        outcome = ex.GetType().Name;
                        if (failures.Count < 20) failures.Add($"{name}#{current}: {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
                    }
                    var dt = watch.ElapsedMilliseconds - t0;
                    if (dt > slowest) { slowest = dt; slowestName = $"{name}#{current}"; }
                    outcomes[outcome] = outcomes.TryGetValue(outcome, out var n) ? n + 1 : 1;
                }
            });
            bool finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(8))) == run;
            Assert.True(finished, $"mutation run hung at file {current}");
            await run;
            Out.WriteLine($"{total} mutated files from {seeds.Count} seeds in {watch.Elapsed.TotalSeconds:F1} s; slowest {slowest} ms ({slowestName})");
            foreach (var kv in outcomes.OrderBy(k => k.Key)) Out.WriteLine($"  {kv.Key}: {kv.Value}");
            foreach (var f in failures) Out.WriteLine(f);
            Assert.Empty(failures);
            Assert.True(outcomes.Keys.All(k => k == "decoded" || k.StartsWith("CxasException.", StringComparison.Ordinal)));
            Assert.True(outcomes.TryGetValue("CxasException.InvalidData", out var invalid) && invalid > total / 10, "too few mutations were detected as invalid");
        }

        [Fact]
        public void DeclaredSizesBeyondTheFileAreRefusedBeforeAllocating()
        {
            var src = Path.Combine(Dir, "big.dcm");
            SyntheticDicom.Write(src, SyntheticDicom.Image(40, 48, 12, 1), new SyntheticDicom.Options { Rows = 40, Columns = 48 });
            var data = File.ReadAllBytes(src);
            // Rows (0028,0010) US -> 30000, Columns -> 30000: 900 M pixels declared in a 4 KB file.
            PatchUShort(data, 0x0028, 0x0010, 30000);
            PatchUShort(data, 0x0028, 0x0011, 30000);
            // Counted on this thread only: other tests run in parallel and allocate in the same process.
            var before = GC.GetAllocatedBytesForCurrentThread();
            var ex = Assert.Throws<CxasException>(() => DicomImageReader.Decode("big", data));
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.True(allocated < 10L * data.Length + (1 << 20), $"{allocated} bytes allocated for a {data.Length}-byte file");
        }

        private static void PatchUShort(byte[] d, int group, int element, int value)
        {
            for (int i = 132; i + 10 <= d.Length; i++)
                if (d[i] == (byte)group && d[i + 1] == (byte)(group >> 8) && d[i + 2] == (byte)element && d[i + 3] == (byte)(element >> 8) && d[i + 4] == 'U' && d[i + 5] == 'S')
                {
                    d[i + 8] = (byte)value;
                    d[i + 9] = (byte)(value >> 8);
                    return;
                }
            throw new InvalidOperationException("tag not found");
        }

        [Fact]
        public void SloppyHandWrittenFileIsRead()
        {
            // No preamble, no meta, implicit VR: odd-length values, an undefined-length sequence holding an undefined-length
            // item with a nested defined-length sequence, a group length, and an element with no known VR.
            var b = new List<byte>();
            void Tag(int g, int e) { b.AddRange(BitConverter.GetBytes((ushort)g)); b.AddRange(BitConverter.GetBytes((ushort)e)); }
            void Elem(int g, int e, byte[] v) { Tag(g, e); b.AddRange(BitConverter.GetBytes((uint)v.Length)); b.AddRange(v); }
            void Text(int g, int e, string s) => Elem(g, e, Encoding.ASCII.GetBytes(s));
            void US(int g, int e, int v) => Elem(g, e, BitConverter.GetBytes((ushort)v));
            Text(0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.1"); // odd length 25
            Text(0x0008, 0x0018, "1.2.3.4.5");                  // odd length 9
            Text(0x0008, 0x0060, "CR");
            Tag(0x0008, 0x1140); b.AddRange(BitConverter.GetBytes(0xFFFFFFFF)); // undefined-length sequence
            Tag(0xFFFE, 0xE000); b.AddRange(BitConverter.GetBytes(0xFFFFFFFF)); //   undefined-length item
            Text(0x0008, 0x1150, "1.2.840.10008.5.1.4.1.1.1");
            var inner = new List<byte>();
            {
                var item = new List<byte>();
                item.AddRange(BitConverter.GetBytes((ushort)0x0008)); item.AddRange(BitConverter.GetBytes((ushort)0x0100));
                item.AddRange(BitConverter.GetBytes(5u)); item.AddRange(Encoding.ASCII.GetBytes("12345"));
                inner.AddRange(BitConverter.GetBytes((ushort)0xFFFE)); inner.AddRange(BitConverter.GetBytes((ushort)0xE000));
                inner.AddRange(BitConverter.GetBytes((uint)item.Count)); inner.AddRange(item);
            }
            Elem(0x0040, 0xA170, inner.ToArray());                            //   nested defined-length sequence (found by content)
            Tag(0xFFFE, 0xE00D); b.AddRange(new byte[4]);                     //   item delimiter
            Tag(0xFFFE, 0xE0DD); b.AddRange(new byte[4]);                     // sequence delimiter
            Text(0x0010, 0x0020, "PID7");
            Elem(0x0011, 0x1001, new byte[] { 1, 2, 3 });                      // private, odd
            Text(0x0018, 0x1164, "0.1\\0.1 ");
            Text(0x0020, 0x000D, "1.2.3");
            Text(0x0020, 0x000E, "1.2.3.4");
            US(0x0028, 0x0002, 1);
            Text(0x0028, 0x0004, "MONOCHROME1");
            US(0x0028, 0x0010, 3);
            US(0x0028, 0x0011, 5);
            US(0x0028, 0x0100, 16);
            US(0x0028, 0x0101, 10);
            US(0x0028, 0x0102, 9);
            US(0x0028, 0x0103, 0);
            var pixels = Enumerable.Range(0, 15).SelectMany(i => BitConverter.GetBytes((ushort)(i * 60 | 0xFC00))).ToArray(); // junk above bit 9
            Elem(0x7FE0, 0x0010, pixels);
            b.AddRange(new byte[] { 0, 0, 0 }); // trailing junk shorter than an element header
            var path = Path.Combine(Dir, "sloppy");
            File.WriteAllBytes(path, b.ToArray());
            var image = ImageLoader.Load(path);
            Assert.Equal(("PID7", "CR", "1.2.3.4.5", 0.1), (image.Info.PatientId, image.Info.Modality, image.Info.SopInstanceUid, image.Info.RowSpacingMm!.Value));
            var stored = SyntheticDicom.DecodeStored(path);
            Assert.Equal(Enumerable.Range(0, 15).Select(i => i * 60), stored.Values);
            var grey = ((GrayRaster)image.Raster).Values;
            Assert.Equal(1f, grey[0]);   // MONOCHROME1: smallest value white
            Assert.Equal(0f, grey[14]);
            var file = DicomParser.ReadFile(path);
            var seq = file.Dataset.Get(0x00081140)!;
            Assert.Single(seq.Items!);
            Assert.Equal("12345", seq.Items![0].FirstItem(0x0040A170)!.GetString(0x00080100));
        }

        [Fact]
        public void MissingNativeCodecNamesTheLibrary()
        {
            Assert.Contains("libcharls2", Cxas.Dicom.Codecs.CharLs.InstallHint);
            Assert.Contains("libopenjp2-7", Cxas.Dicom.Codecs.OpenJpeg.InstallHint);
            // On a machine with the libraries, both load (CI installs them).
            Out.WriteLine($"CharLS available: {Cxas.Dicom.Codecs.CharLs.Available}, OpenJPEG available: {Cxas.Dicom.Codecs.OpenJpeg.Available}");
        }
    }
}
