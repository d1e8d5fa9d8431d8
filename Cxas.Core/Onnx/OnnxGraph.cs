using System;
using System.Collections.Generic;
using System.IO;

namespace Cxas.Onnx
{
    /// <summary>An ONNX attribute value (int, float, ints, floats or string).</summary>
    public sealed class OnnxAttribute
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
    /// Builds an ONNX model (opset 17, float32 tensors) in memory and serialises it as a ModelProto.
    /// Used by the checkpoint importer and by tests that need models with outputs known in closed form.
    /// </summary>
    public sealed class OnnxGraph
    {
        private const int FloatType = 1;
        private const int Int64Type = 7;

        private readonly List<(string Name, int Type, long[] Dims, byte[] Raw)> _initializers = new List<(string, int, long[], byte[])>();
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

        public string AddInitializer(string name, float[] values, params long[] dims)
        {
            long count = 1;
            foreach (var d in dims) count *= d;
            if (count != values.Length)
                throw new ArgumentException($"Initializer '{name}' has {values.Length} values but shape [{string.Join(",", dims)}].");
            var raw = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
            if (!BitConverter.IsLittleEndian) SwapEndian(raw, 4);
            _initializers.Add((name, FloatType, dims, raw));
            return name;
        }

        public string AddInt64Initializer(string name, long[] values, params long[] dims)
        {
            var raw = new byte[values.Length * 8];
            Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
            if (!BitConverter.IsLittleEndian) SwapEndian(raw, 8);
            _initializers.Add((name, Int64Type, dims, raw));
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
            var model = new ProtoWriter();
            model.Int(1, 8); // ir_version
            model.String(2, ProducerName);
            model.String(3, typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "0");
            model.Message(7, g =>
            {
                foreach (var n in _nodes) g.Message(1, node => WriteNode(node, n));
                g.String(2, Name);
                foreach (var init in _initializers)
                {
                    g.Message(5, t =>
                    {
                        t.PackedInts(1, init.Dims);
                        t.Int(2, init.Type);
                        t.String(8, init.Name);
                        t.Bytes(9, init.Raw);
                    });
                }
                foreach (var i in _inputs) g.Message(11, v => WriteValueInfo(v, i.Name, i.Dims));
                foreach (var o in _outputs) g.Message(12, v => WriteValueInfo(v, o.Name, o.Dims));
            });
            model.Message(8, op => { op.String(1, ""); op.Int(2, OpsetVersion); });
            return model.ToArray();
        }

        public void Save(string path) => File.WriteAllBytes(path, ToBytes());

        private static void WriteNode(ProtoWriter w, (string Op, string Name, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes) n)
        {
            foreach (var i in n.Inputs) w.String(1, i);
            foreach (var o in n.Outputs) w.String(2, o);
            w.String(3, n.Name);
            w.String(4, n.Op);
            foreach (var a in n.Attributes) w.Message(5, aw => WriteAttribute(aw, a));
        }

        private static void WriteAttribute(ProtoWriter w, OnnxAttribute a)
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
