using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Cxas.Onnx
{
    // An ONNX ModelProto read into an editable form, for rewriting an existing model (precision conversion):
    //   model fields other than the graph and the opset imports -> kept as encoded bytes, written back unchanged;
    //   opset imports -> (domain, version) pairs;
    //   graph -> nodes (inputs, outputs, op type, attributes as encoded bytes with their int values read),
    //            initializers (name, dims, data type, little-endian raw bytes),
    //            inputs and outputs (name, element type, encoded ValueInfoProto), other graph fields as encoded bytes.
    // value_info (optional shape hints) is dropped on read: a rewrite may change the types it names.
    // Writing streams the initializers' bytes after computed length prefixes, so a model is held once, not copied.

    /// <summary>ONNX TensorProto element types used by Cxas.</summary>
    internal static class OnnxType
    {
        public const int Float = 1;
        public const int UInt8 = 2;
        public const int Int8 = 3;
        public const int Int32 = 6;
        public const int Int64 = 7;
        public const int Float16 = 10;

        public static int Size(int type) => type switch
        {
            Float => 4, UInt8 => 1, Int8 => 1, Int32 => 4, Int64 => 8, Float16 => 2,
            _ => throw new NotSupportedException($"ONNX element type {type}"),
        };
    }

    /// <summary>An initializer: raw little-endian values of one element type.</summary>
    internal sealed class OnnxTensor
    {
        public OnnxTensor(string name, int dataType, long[] dims, byte[] raw)
        {
            long count = 1;
            foreach (var d in dims) count *= d;
            if (count * OnnxType.Size(dataType) != raw.Length)
                throw new ArgumentException($"Tensor '{name}' has {raw.Length} bytes, not {count} values of type {dataType}.");
            Name = name; DataType = dataType; Dims = dims; Raw = raw;
        }

        public string Name { get; }
        public int DataType { get; }
        public long[] Dims { get; }
        public byte[] Raw { get; }
        public long Count => Raw.Length / OnnxType.Size(DataType);

        public float[] ToFloats()
        {
            if (DataType != OnnxType.Float) throw new InvalidOperationException($"Tensor '{Name}' is not float.");
            var values = new float[Raw.Length / 4];
            Buffer.BlockCopy(Raw, 0, values, 0, Raw.Length);
            return values;
        }

        public static OnnxTensor Floats(string name, float[] values, params long[] dims) => Of(name, OnnxType.Float, values, values.Length * 4, dims);
        public static OnnxTensor Int32s(string name, int[] values, params long[] dims) => Of(name, OnnxType.Int32, values, values.Length * 4, dims);
        public static OnnxTensor Int8s(string name, sbyte[] values, params long[] dims) => Of(name, OnnxType.Int8, values, values.Length, dims);
        public static OnnxTensor UInt8s(string name, byte[] values, params long[] dims) => Of(name, OnnxType.UInt8, values, values.Length, dims);

        private static OnnxTensor Of(string name, int type, Array values, int bytes, long[] dims)
        {
            var raw = new byte[bytes];
            Buffer.BlockCopy(values, 0, raw, 0, bytes);
            return new OnnxTensor(name, type, dims, raw);
        }
    }

    /// <summary>One encoded attribute of a node, with its int value(s) read for the attributes rewrites consult.</summary>
    internal sealed class OnnxNodeAttribute
    {
        internal OnnxNodeAttribute(string name, byte[] encoded, long? intValue, long[] ints)
        {
            Name = name; Encoded = encoded; Int = intValue; Ints = ints;
        }

        public string Name { get; }
        /// <summary>The AttributeProto's bytes.</summary>
        internal byte[] Encoded { get; }
        public long? Int { get; }
        public long[] Ints { get; }

        public static OnnxNodeAttribute Create(OnnxAttribute attribute)
        {
            var w = new ProtoWriter();
            OnnxModelBuilder.WriteAttribute(w, attribute);
            long? i = attribute.Value is long l ? l : (long?)null;
            return new OnnxNodeAttribute(attribute.Name, w.ToArray(), i, attribute.Value as long[] ?? Array.Empty<long>());
        }
    }

    internal sealed class OnnxNode
    {
        public OnnxNode(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, params OnnxAttribute[] attributes)
        {
            OpType = opType; Name = name;
            Inputs = inputs.ToList(); Outputs = outputs.ToList();
            Attributes = attributes.Select(OnnxNodeAttribute.Create).ToList();
        }

        internal OnnxNode() { }

        public string OpType { get; internal set; } = "";
        public string Name { get; set; } = "";
        public string Domain { get; internal set; } = "";
        public List<string> Inputs { get; private set; } = new List<string>();
        public List<string> Outputs { get; private set; } = new List<string>();
        public List<OnnxNodeAttribute> Attributes { get; private set; } = new List<OnnxNodeAttribute>();
        /// <summary>Other NodeProto fields (doc strings and the like), encoded.</summary>
        internal List<byte[]> Other { get; } = new List<byte[]>();

        public long? IntAttribute(string name) => Attributes.FirstOrDefault(a => a.Name == name)?.Int;

        /// <summary>The input at <paramref name="index"/>, or "" when the node has no such (optional) input.</summary>
        public string Input(int index) => index < Inputs.Count ? Inputs[index] : "";

        internal void Write(ProtoWriter w)
        {
            foreach (var i in Inputs) w.String(1, i);
            foreach (var o in Outputs) w.String(2, o);
            if (Name.Length > 0) w.String(3, Name);
            w.String(4, OpType);
            foreach (var a in Attributes) w.Bytes(5, a.Encoded);
            if (Domain.Length > 0) w.String(7, Domain);
            foreach (var o in Other) w.Raw(o);
        }
    }

    /// <summary>A graph input or output: its name, element type and encoded ValueInfoProto.</summary>
    internal sealed class OnnxValue
    {
        internal OnnxValue(string name, int elementType, byte[] encoded) { Name = name; ElementType = elementType; Encoded = encoded; }

        public string Name { get; }
        /// <summary>Element type of a tensor value (0 when not a tensor or not stated).</summary>
        public int ElementType { get; }
        internal byte[] Encoded { get; }

        /// <summary>A float tensor value of unstated shape, as calibration exposes intermediate tensors.</summary>
        public static OnnxValue Tensor(string name, int elementType)
        {
            var w = new ProtoWriter();
            w.String(1, name);
            w.Message(2, type => type.Message(1, tensor => tensor.Int(1, elementType)));
            return new OnnxValue(name, elementType, w.ToArray());
        }
    }

    /// <summary>An ONNX model read for rewriting; see the representation note at the top of the file.</summary>
    internal sealed class OnnxModel
    {
        private readonly List<byte[]> _modelFields = new List<byte[]>();
        private readonly List<byte[]> _graphFields = new List<byte[]>();

        public string Source { get; private set; } = "";
        public List<(string Domain, long Version)> OpsetImports { get; } = new List<(string, long)>();
        public string GraphName { get; set; } = "";
        public List<OnnxNode> Nodes { get; } = new List<OnnxNode>();
        public List<OnnxTensor> Initializers { get; } = new List<OnnxTensor>();
        public List<OnnxValue> Inputs { get; } = new List<OnnxValue>();
        public List<OnnxValue> Outputs { get; } = new List<OnnxValue>();

        /// <summary>The opset version of the default (ai.onnx) domain.</summary>
        public long Opset => OpsetImports.Where(o => o.Domain == "" || o.Domain == "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

        public static OnnxModel Load(string path) => Parse(File.ReadAllBytes(path), path);

        public static OnnxModel Parse(byte[] data, string source)
        {
            var model = new OnnxModel { Source = source };
            bool sawGraph = false;
            foreach (var f in ProtoReader.Fields(data, 0, data.Length, source))
            {
                if (f.Number == 7 && f.WireType == 2) { model.ReadGraph(data, f); sawGraph = true; }
                else if (f.Number == 8 && f.WireType == 2)
                {
                    string domain = ""; long version = 0;
                    foreach (var o in ProtoReader.Fields(data, f.Offset, f.Length, source))
                    {
                        if (o.Number == 1 && o.WireType == 2) domain = ProtoReader.String(data, o);
                        else if (o.Number == 2 && o.WireType == 0) version = (long)o.Scalar;
                    }
                    model.OpsetImports.Add((domain, version));
                }
                else model._modelFields.Add(ProtoReader.Encoded(data, f));
            }
            if (!sawGraph) throw new CxasException(CxasErrorKind.InvalidModel, $"'{source}' is not an ONNX model: it has no graph.", source);
            return model;
        }

        private void ReadGraph(byte[] data, ProtoField graph)
        {
            foreach (var f in ProtoReader.Fields(data, graph.Offset, graph.Length, Source))
            {
                switch (f.Number)
                {
                    case 1 when f.WireType == 2: Nodes.Add(ReadNode(data, f)); break;
                    case 2 when f.WireType == 2: GraphName = ProtoReader.String(data, f); break;
                    case 5 when f.WireType == 2: Initializers.Add(ReadTensor(data, f)); break;
                    case 11 when f.WireType == 2: Inputs.Add(ReadValue(data, f)); break;
                    case 12 when f.WireType == 2: Outputs.Add(ReadValue(data, f)); break;
                    case 13: break; // value_info: optional hints, dropped (see the file's note)
                    default: _graphFields.Add(ProtoReader.Encoded(data, f)); break;
                }
            }
        }

        private OnnxNode ReadNode(byte[] data, ProtoField field)
        {
            var node = new OnnxNode();
            foreach (var f in ProtoReader.Fields(data, field.Offset, field.Length, Source))
            {
                switch (f.Number)
                {
                    case 1: node.Inputs.Add(ProtoReader.String(data, f)); break;
                    case 2: node.Outputs.Add(ProtoReader.String(data, f)); break;
                    case 3: node.Name = ProtoReader.String(data, f); break;
                    case 4: node.OpType = ProtoReader.String(data, f); break;
                    case 7: node.Domain = ProtoReader.String(data, f); break;
                    case 5:
                        string name = ""; long? i = null; var ints = new List<long>();
                        foreach (var a in ProtoReader.Fields(data, f.Offset, f.Length, Source))
                        {
                            if (a.Number == 1 && a.WireType == 2) name = ProtoReader.String(data, a);
                            else if (a.Number == 3 && a.WireType == 0) i = unchecked((long)a.Scalar);
                            else if (a.Number == 8) ProtoReader.AddInts(data, a, ints, Source);
                        }
                        node.Attributes.Add(new OnnxNodeAttribute(name, ProtoReader.Bytes(data, f), i, ints.ToArray()));
                        break;
                    default: node.Other.Add(ProtoReader.Encoded(data, f)); break;
                }
            }
            return node;
        }

        private OnnxTensor ReadTensor(byte[] data, ProtoField field)
        {
            var dims = new List<long>();
            int type = 0; string name = ""; byte[]? raw = null;
            var floats = new List<float>(); var ints = new List<long>();
            foreach (var f in ProtoReader.Fields(data, field.Offset, field.Length, Source))
            {
                switch (f.Number)
                {
                    case 1: ProtoReader.AddInts(data, f, dims, Source); break;
                    case 2: type = (int)f.Scalar; break;
                    case 4: ProtoReader.AddFloats(data, f, floats); break;
                    case 5: case 7: ProtoReader.AddInts(data, f, ints, Source); break;
                    case 8: name = ProtoReader.String(data, f); break;
                    case 9: raw = ProtoReader.Bytes(data, f); break;
                    case 13: case 14:
                        throw new CxasException(CxasErrorKind.NotSupported,
                            $"'{Source}' keeps tensor '{name}' in external data, which precision conversion does not read.", Source);
                }
            }
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX rewriting needs a little-endian machine.");
            raw ??= type switch
            {
                OnnxType.Float => FloatsToBytes(floats),
                OnnxType.Int64 => ints.SelectMany(BitConverter.GetBytes).ToArray(),
                OnnxType.Int32 => ints.SelectMany(v => BitConverter.GetBytes((int)v)).ToArray(),
                OnnxType.Int8 or OnnxType.UInt8 => ints.Select(v => (byte)v).ToArray(),
                OnnxType.Float16 => ints.SelectMany(v => BitConverter.GetBytes((ushort)v)).ToArray(),
                _ => throw new CxasException(CxasErrorKind.NotSupported, $"'{Source}': initializer '{name}' has element type {type}, which precision conversion does not handle.", Source),
            };
            try
            {
                return new OnnxTensor(name, type, dims.ToArray(), raw);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is NotSupportedException)
            {
                throw new CxasException(CxasErrorKind.InvalidModel, $"'{Source}': {ex.Message}", Source, ex);
            }
        }

        private static byte[] FloatsToBytes(List<float> values)
        {
            var raw = new byte[values.Count * 4];
            Buffer.BlockCopy(values.ToArray(), 0, raw, 0, raw.Length);
            return raw;
        }

        private OnnxValue ReadValue(byte[] data, ProtoField field)
        {
            string name = ""; int elementType = 0;
            foreach (var f in ProtoReader.Fields(data, field.Offset, field.Length, Source))
            {
                if (f.Number == 1 && f.WireType == 2) name = ProtoReader.String(data, f);
                else if (f.Number == 2 && f.WireType == 2)
                    foreach (var t in ProtoReader.Fields(data, f.Offset, f.Length, Source))
                        if (t.Number == 1 && t.WireType == 2)
                            foreach (var e in ProtoReader.Fields(data, t.Offset, t.Length, Source))
                                if (e.Number == 1 && e.WireType == 0) elementType = (int)e.Scalar;
            }
            return new OnnxValue(name, elementType, ProtoReader.Bytes(data, field));
        }

        public OnnxTensor? Initializer(string name) => Initializers.FirstOrDefault(t => t.Name == name);

        /// <summary>Sets the default domain's opset version (adding the import when missing).</summary>
        public void SetOpset(long version)
        {
            OpsetImports.RemoveAll(o => o.Domain == "" || o.Domain == "ai.onnx");
            OpsetImports.Insert(0, ("", version));
        }

        public byte[] ToBytes()
        {
            using var stream = new MemoryStream();
            WriteTo(stream);
            return stream.ToArray();
        }

        public void Save(string path)
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            WriteTo(stream);
        }

        /// <summary>Serialises the ModelProto; initializer bytes stream from their arrays after computed headers.</summary>
        public void WriteTo(Stream output)
        {
            var head = new ProtoWriter();
            foreach (var f in _modelFields) head.Raw(f);
            foreach (var (domain, version) in OpsetImports)
                head.Message(8, o => { if (domain.Length > 0) o.String(1, domain); o.Int(2, version); });

            var graphHead = new ProtoWriter();
            foreach (var n in Nodes) graphHead.Message(1, n.Write);
            graphHead.String(2, GraphName);
            var graphTail = new ProtoWriter();
            foreach (var i in Inputs) graphTail.Bytes(11, i.Encoded);
            foreach (var o in Outputs) graphTail.Bytes(12, o.Encoded);
            foreach (var f in _graphFields) graphTail.Raw(f);

            var headers = new List<byte[]>(Initializers.Count);
            long graphLength = graphHead.Length + graphTail.Length;
            foreach (var t in Initializers)
            {
                var bytes = ProtoWriter.InitializerHeader(t.Dims, t.DataType, t.Name, t.Raw.Length);
                headers.Add(bytes);
                graphLength += bytes.Length + t.Raw.Length;
            }

            head.BytesHeader(7, graphLength);
            head.WriteTo(output);
            graphHead.WriteTo(output);
            for (int i = 0; i < Initializers.Count; i++)
            {
                output.Write(headers[i], 0, headers[i].Length);
                output.Write(Initializers[i].Raw, 0, Initializers[i].Raw.Length);
            }
            graphTail.WriteTo(output);
        }
    }
}
