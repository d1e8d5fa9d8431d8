using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace Cxas.Core.Tests.Import
{
    /// <summary>A float32 C-order .npy array (what numpy.save writes for float32 arrays).</summary>
    internal sealed class NpyArray
    {
        public long[] Shape { get; }
        public float[] Data { get; }
        private NpyArray(long[] shape, float[] data) { Shape = shape; Data = data; }

        public static NpyArray Load(string path)
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
                throw new InvalidDataException($"{path} is not an npy file");
            int major = bytes[6];
            int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
            int start = major == 1 ? 10 : 12;
            var header = Encoding.ASCII.GetString(bytes, start, headerLength);
            if (!header.Contains("'descr': '<f4'") || !header.Contains("'fortran_order': False"))
                throw new InvalidDataException($"{path}: only little-endian float32 C-order arrays are read ({header})");
            int open = header.IndexOf("'shape': (", StringComparison.Ordinal) + "'shape': (".Length;
            int close = header.IndexOf(')', open);
            var shape = header.Substring(open, close - open).Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries)
                .Select(s => long.Parse(s.Trim())).ToArray();
            long count = shape.Aggregate(1L, (a, b) => a * b);
            int dataStart = start + headerLength;
            if (bytes.Length - dataStart != count * 4) throw new InvalidDataException($"{path}: size mismatch");
            var data = new float[count];
            Buffer.BlockCopy(bytes, dataStart, data, 0, (int)count * 4);
            return new NpyArray(shape, data);
        }
    }

    internal static class ImportTestSupport
    {
        public static string FixtureDirectory
        {
            get
            {
                var dir = new DirectoryInfo(AppContext.BaseDirectory);
                while (dir != null)
                {
                    var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "import");
                    if (Directory.Exists(candidate)) return candidate;
                    dir = dir.Parent;
                }
                throw new DirectoryNotFoundException("tests/fixtures/import not found above " + AppContext.BaseDirectory);
            }
        }

        public static string ReducedCheckpoint => Path.Combine(FixtureDirectory, "reduced_w16.pth");

        public static string NewTempDirectory()
        {
            var dir = Path.Combine(Path.GetTempPath(), "cxas-import-tests-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            Directory.CreateDirectory(dir);
            return dir;
        }

        /// <summary>Runs an ONNX model on one input and returns its first output's values.</summary>
        public static float[] Run(byte[] onnx, NpyArray input) => Run(new InferenceSession(onnx), input, dispose: true);

        public static float[] Run(string onnxPath, NpyArray input)
        {
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            return Run(new InferenceSession(onnxPath, options), input, dispose: true);
        }

        private static float[] Run(InferenceSession session, NpyArray input, bool dispose)
        {
            try
            {
                using var value = OrtValue.CreateTensorValueFromMemory(input.Data, input.Shape);
                using var runOptions = new RunOptions();
                var inputName = session.InputMetadata.Keys.First();
                var outputName = session.OutputMetadata.Keys.First();
                using var results = session.Run(runOptions, new[] { inputName }, new[] { value }, new[] { outputName });
                return results[0].GetTensorDataAsSpan<float>().ToArray();
            }
            finally
            {
                if (dispose) session.Dispose();
            }
        }

        /// <summary>A numpy bool array (format 1.0, C order): its shape and one byte per element.</summary>
        public static (long[] Shape, byte[] Bits) LoadBoolNpy(string path)
        {
            var bytes = File.ReadAllBytes(path);
            int headerLength = bytes[8] | (bytes[9] << 8);
            var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
            if (!header.Contains("'descr': '|b1'")) throw new InvalidDataException($"{path} is not a bool array ({header})");
            var dims = header.Substring(header.IndexOf("'shape': (", StringComparison.Ordinal) + 10);
            dims = dims.Substring(0, dims.IndexOf(')'));
            var shape = dims.Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries).Select(d => long.Parse(d.Trim())).ToArray();
            var data = new byte[bytes.Length - 10 - headerLength];
            Buffer.BlockCopy(bytes, 10 + headerLength, data, 0, data.Length);
            return (shape, data);
        }

        /// <summary>
        /// Every full-resolution mask pixel of a result against PyTorch's masks (a bool [classes, H, W] .npy): the
        /// fraction that agree, how many differ, and the total. The array's shape must be the result's.
        /// </summary>
        public static (double Agreement, long Differ, long Total) CompareMasks(Cxas.Segmentation.SegmentationResult result, string npyPath)
        {
            var (shape, bits) = LoadBoolNpy(npyPath);
            var expectedShape = new long[] { result.Masks.Count, result.Height, result.Width };
            if (!shape.SequenceEqual(expectedShape))
                throw new InvalidDataException($"{npyPath} has shape [{string.Join(",", shape)}], the result [{string.Join(",", expectedShape)}]");
            long differ = 0;
            for (int c = 0; c < result.Masks.Count; c++)
            {
                var mask = result.Masks.GetMask(c);
                long o = (long)c * result.Height * result.Width;
                for (int y = 0; y < result.Height; y++)
                    for (int x = 0; x < result.Width; x++)
                        if (mask[x, y] != (bits[o + (long)y * result.Width + x] != 0)) differ++;
            }
            return (1 - (double)differ / bits.LongLength, differ, bits.LongLength);
        }

        /// <summary>Parity figures between logits and reference logits.</summary>
        public static (double MaxAbsDiff, double Range, double RelativeDiff, double MaskAgreement, long Disagreeing) Compare(float[] actual, float[] expected)
        {
            if (actual.Length != expected.Length) throw new ArgumentException($"{actual.Length} values vs {expected.Length} expected");
            double maxDiff = 0, min = double.MaxValue, max = double.MinValue;
            long disagree = 0;
            for (int i = 0; i < actual.Length; i++)
            {
                double d = Math.Abs((double)actual[i] - expected[i]);
                if (!(d <= maxDiff)) maxDiff = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(maxDiff, d);
                min = Math.Min(min, expected[i]);
                max = Math.Max(max, expected[i]);
                if ((actual[i] > 0) != (expected[i] > 0)) disagree++;
            }
            double range = max - min;
            return (maxDiff, range, maxDiff / range, 1.0 - (double)disagree / actual.Length, disagree);
        }
    }

    /// <summary>
    /// Writes PyTorch-style zip checkpoints from C#, with a protocol-2 pickle of the same shape torch.save emits, so
    /// tests can build malformed variants (renamed keys, wrong shapes, odd strides, oversized storages).
    /// </summary>
    internal sealed class TestCheckpointWriter
    {
        public sealed class Tensor
        {
            public string Name = "";
            public long[] Shape = Array.Empty<long>();
            public long[]? Strides;
            public long Offset;
            public float[] Storage = Array.Empty<float>();
            /// <summary>Declared storage size in the persistent id; the real length when null.</summary>
            public long? DeclaredCount;
        }

        public List<Tensor> Tensors { get; } = new List<Tensor>();
        public string Prefix { get; set; } = "archive";
        public string WrapperKey { get; set; } = "model";
        public string KeyPrefix { get; set; } = "module.";

        public Tensor Add(string name, long[] shape, float[] values)
        {
            var t = new Tensor { Name = name, Shape = shape, Storage = values };
            Tensors.Add(t);
            return t;
        }

        public static long[] ContiguousStrides(long[] shape)
        {
            var strides = new long[shape.Length];
            long s = 1;
            for (int d = shape.Length - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]; }
            return strides;
        }

        public byte[] Pickle()
        {
            var p = new MemoryStream();
            void Op(char c) => p.WriteByte((byte)c);
            void Raw(params byte[] b) => p.Write(b, 0, b.Length);
            void Str(string s) { var b = Encoding.UTF8.GetBytes(s); Op('X'); Raw(BitConverter.GetBytes(b.Length)); Raw(b); }
            void Int(long v)
            {
                if (v >= int.MinValue && v <= int.MaxValue) { Op('J'); Raw(BitConverter.GetBytes((int)v)); }
                else { Raw(0x8a, 8); Raw(BitConverter.GetBytes(v)); } // LONG1, 8 little-endian bytes
            }
            void Global(string module, string name) { Op('c'); Raw(Encoding.ASCII.GetBytes(module + "\n" + name + "\n")); }
            void Tuple(IEnumerable<long> values) { Op('('); foreach (var v in values) Int(v); Op('t'); }

            Raw(0x80, 2);
            Op('}');
            Op('(');
            Str(WrapperKey);
            Global("collections", "OrderedDict"); Op(')'); Op('R');
            Op('(');
            int key = 0;
            foreach (var t in Tensors)
            {
                Str(KeyPrefix + t.Name);
                Global("torch._utils", "_rebuild_tensor_v2");
                Op('(');
                Op('('); Str("storage"); Global("torch", "FloatStorage"); Str(key.ToString()); Str("cpu"); Int(t.DeclaredCount ?? t.Storage.Length); Op('t'); Op('Q');
                Int(t.Offset);
                Tuple(t.Shape);
                Tuple(t.Strides ?? ContiguousStrides(t.Shape));
                Raw(0x89);
                Global("collections", "OrderedDict"); Op(')'); Op('R');
                Op('t');
                Op('R');
                key++;
            }
            Op('u');
            Str("epoch"); Int(3);
            Op('u');
            Op('.');
            return p.ToArray();
        }

        public byte[] ToBytes() => Zip(Prefix, Pickle(), Tensors.Select(t => t.Storage).ToList());

        public static byte[] Zip(string prefix, byte[] pickle, IReadOnlyList<float[]> storages)
        {
            var ms = new MemoryStream();
            using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            {
                void Entry(string name, byte[] data)
                {
                    var e = zip.CreateEntry(prefix + "/" + name, CompressionLevel.NoCompression);
                    using var s = e.Open();
                    s.Write(data, 0, data.Length);
                }
                Entry("data.pkl", pickle);
                Entry("byteorder", Encoding.ASCII.GetBytes("little"));
                for (int i = 0; i < storages.Count; i++)
                {
                    var bytes = new byte[storages[i].Length * 4];
                    Buffer.BlockCopy(storages[i], 0, bytes, 0, bytes.Length);
                    Entry("data/" + i, bytes);
                }
                Entry("version", Encoding.ASCII.GetBytes("3\n"));
            }
            return ms.ToArray();
        }

        /// <summary>A writer holding every floating-point tensor of an existing checkpoint.</summary>
        public static TestCheckpointWriter From(Cxas.Import.TorchCheckpoint checkpoint)
        {
            var w = new TestCheckpointWriter();
            foreach (var t in checkpoint.Tensors.Where(t => t.IsFloatingPoint))
                w.Add(t.Name, t.Shape.ToArray(), checkpoint.ReadFloats(t));
            return w;
        }
    }
}
