
namespace Cxas.Onnx
{
    /// <summary>An ONNX attribute value (int, float, ints, floats or string).</summary>
    internal sealed class OnnxAttribute
    {
        public string Name { get; }
        internal object Value { get; }
        private OnnxAttribute(string name, object value) { Name = name; Value = value; }
        public static OnnxAttribute Of(string name, long value) => new OnnxAttribute(name, value);
        public static OnnxAttribute Of(string name, float value) => new OnnxAttribute(name, value);
        public static OnnxAttribute Of(string name, params long[] values) => new OnnxAttribute(name, values);
        public static OnnxAttribute Of(string name, float[] values) => new OnnxAttribute(name, values);
        public static OnnxAttribute Of(string name, string value) => new OnnxAttribute(name, value);
    }

    /// <summary>
    /// Builds a new ONNX model (opset 17, float32 tensors) node by node in memory and writes it as a ModelProto; the
    /// counterpart of <see cref="OnnxModel"/>, which reads an existing one.
    /// Used by the checkpoint importer and by tests that need models with outputs known in closed form.
    /// </summary>
    internal sealed class OnnxModelBuilder
    {
        private const int FloatType = 1;
        private const int Int64Type = 7;

        private readonly List<Initializer> _initializers = new List<Initializer>();
        private readonly List<(string Op, string Name, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes)> _nodes = new List<(string, string, string[], string[], OnnxAttribute[])>();
        private readonly List<(string Name, object?[] Dims)> _inputs = new List<(string, object?[])>();
        private readonly List<(string Name, object?[] Dims)> _outputs = new List<(string, object?[])>();
        private int _counter;

        public string Name { get; set; } = "cxas";
        public string ProducerName { get; set; } = "Cxas";
        public int OpsetVersion { get; set; } = 17;

        /// <summary>Declares a float input. A dimension is an int (fixed), a string (symbolic) or null.</summary>
        public void AddInput(string name, params object?[] dims) => _inputs.Add((name, dims));

        public void AddOutput(string name, params object?[] dims) => _outputs.Add((name, dims));

        /// <summary>
        /// Adds a float initializer. The array is kept, not copied, and read when the model is written: do not change
        /// it after adding it.
        /// </summary>
        public string AddInitializer(string name, float[] values, params long[] dims)
        {
            long count = 1;
            foreach (var d in dims) count *= d;
            if (count != values.Length)
                throw new ArgumentException($"Initializer '{name}' has {values.Length} values but shape [{string.Join(",", dims)}].");
            // Kept by reference and serialised on write: a large model's weights are never copied in memory.
            _initializers.Add(new Initializer(name, FloatType, dims, null, values));
            return name;
        }

        /// <summary>Total float values held by initializers.</summary>
        public long InitializerValueCount
        {
            get
            {
                long n = 0;
                foreach (var init in _initializers) n += init.Floats?.Length ?? init.Raw!.Length / 8;
                return n;
            }
        }

        public string AddInt64Initializer(string name, long[] values, params long[] dims)
        {
            var raw = new byte[values.Length * 8];
            Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
            if (!BitConverter.IsLittleEndian) SwapEndian(raw, 8);
            _initializers.Add(new Initializer(name, Int64Type, dims, raw, null));
            return name;
        }

        /// <summary>Adds a node and returns the name of its (first) output.</summary>
        public string AddNode(string op, string[] inputs, params OnnxAttribute[] attributes)
        {
            var output = $"{op.ToLowerInvariant()}_{_counter++}";
            AddNode(op, inputs, new[] { output }, attributes);
            return output;
        }

        public void AddNode(string op, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
        {
            _nodes.Add((op, $"{op}_{_nodes.Count}", inputs, outputs, attributes));
        }

        public byte[] ToBytes()
        {
            using var stream = new MemoryStream();
            WriteTo(stream);
            return stream.ToArray();
        }

        /// <summary>
        /// Serialises the ModelProto to <paramref name="output"/>. Message lengths are computed up front, so the
        /// initializers' values stream straight from their arrays and a model of hundreds of MB needs no second copy.
        /// </summary>
        public void WriteTo(Stream output)
        {
            var head = new ProtoWriter();
            head.Int(1, 8); // ir_version
            head.String(2, ProducerName);
            head.String(3, typeof(OnnxModelBuilder).Assembly.GetName().Version?.ToString() ?? "0");

            var graphHead = new ProtoWriter();
            foreach (var n in _nodes) graphHead.Message(1, node => WriteNode(node, n));
            graphHead.String(2, Name);
            var graphTail = new ProtoWriter();
            foreach (var i in _inputs) graphTail.Message(11, v => WriteValueInfo(v, i.Name, i.Dims));
            foreach (var o in _outputs) graphTail.Message(12, v => WriteValueInfo(v, o.Name, o.Dims));

            // Each initializer: its header (ProtoWriter.InitializerHeader), then its raw bytes.
            var headers = new List<byte[]>(_initializers.Count);
            long graphLength = graphHead.Length + graphTail.Length;
            foreach (var init in _initializers)
            {
                var bytes = ProtoWriter.InitializerHeader(init.Dims, init.Type, init.Name, init.ByteLength);
                headers.Add(bytes);
                graphLength += bytes.Length + init.ByteLength;
            }

            var tail = new ProtoWriter();
            tail.Message(8, op => { op.String(1, ""); op.Int(2, OpsetVersion); });

            head.BytesHeader(7, graphLength);
            head.WriteTo(output);
            graphHead.WriteTo(output);
            var chunk = new byte[1 << 20];
            for (int i = 0; i < _initializers.Count; i++)
            {
                output.Write(headers[i], 0, headers[i].Length);
                var init = _initializers[i];
                if (init.Raw != null)
                {
                    output.Write(init.Raw, 0, init.Raw.Length);
                    continue;
                }
                var values = init.Floats!;
                for (int at = 0; at < values.Length; at += chunk.Length / 4)
                {
                    int count = Math.Min(chunk.Length / 4, values.Length - at);
                    Buffer.BlockCopy(values, at * 4, chunk, 0, count * 4);
                    if (!BitConverter.IsLittleEndian) SwapEndian(chunk, 4);
                    output.Write(chunk, 0, count * 4);
                }
            }
            graphTail.WriteTo(output);
            tail.WriteTo(output);
        }

        public void Save(string path)
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            WriteTo(stream);
        }

        private sealed class Initializer
        {
            public Initializer(string name, int type, long[] dims, byte[]? raw, float[]? floats)
            {
                Name = name; Type = type; Dims = dims; Raw = raw; Floats = floats;
            }
            public string Name { get; }
            public int Type { get; }
            public long[] Dims { get; }
            public byte[]? Raw { get; }
            public float[]? Floats { get; }
            public long ByteLength => Raw?.Length ?? (long)Floats!.Length * 4;
        }

        private static void WriteNode(ProtoWriter w, (string Op, string Name, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes) n)
        {
            foreach (var i in n.Inputs) w.String(1, i);
            foreach (var o in n.Outputs) w.String(2, o);
            w.String(3, n.Name);
            w.String(4, n.Op);
            foreach (var a in n.Attributes) w.Message(5, aw => WriteAttribute(aw, a));
        }

        internal static void WriteAttribute(ProtoWriter w, OnnxAttribute a)
        {
            w.String(1, a.Name);
            switch (a.Value)
            {
                case long i: w.Int(3, i); w.Int(20, 2); break;
                case float f: w.Float(2, f); w.Int(20, 1); break;
                case string s: w.String(4, s); w.Int(20, 3); break;
                case long[] ints: foreach (var i in ints) w.Int(8, i); w.Int(20, 7); break;
                case float[] floats: foreach (var f in floats) w.Float(7, f); w.Int(20, 6); break;
                default: throw new NotSupportedException(a.Value.GetType().Name);
            }
        }

        private static void WriteValueInfo(ProtoWriter w, string name, object?[] dims)
        {
            w.String(1, name);
            w.Message(2, type => type.Message(1, tensor =>
            {
                tensor.Int(1, FloatType);
                tensor.Message(2, shape =>
                {
                    foreach (var d in dims)
                    {
                        shape.Message(1, dim =>
                        {
                            if (d is int iv) dim.Int(1, iv);
                            else if (d is long lv) dim.Int(1, lv);
                            else if (d is string sv) dim.String(2, sv);
                        });
                    }
                });
            }));
        }

        private static void SwapEndian(byte[] raw, int size)
        {
            for (int i = 0; i < raw.Length; i += size) Array.Reverse(raw, i, size);
        }
    }
}
