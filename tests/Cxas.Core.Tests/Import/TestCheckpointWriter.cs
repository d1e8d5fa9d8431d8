using System.IO.Compression;
using System.Text;

namespace Cxas.Core.Tests.Import
{
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
