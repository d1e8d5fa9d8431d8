using System.Text;

namespace Cxas.Onnx
{
    /// <summary>Minimal protocol-buffers encoder: just the wire types an ONNX model needs.</summary>
    internal sealed class ProtoWriter
    {
        private readonly MemoryStream _buffer = new MemoryStream();

        public byte[] ToArray() => _buffer.ToArray();

        public long Length => _buffer.Length;

        public void WriteTo(Stream output) => _buffer.WriteTo(output);

        /// <summary>Appends another writer's bytes as they are (fields of the same message).</summary>
        public void Append(ProtoWriter other) => other._buffer.WriteTo(_buffer);

        /// <summary>Appends a field encoded elsewhere (tag included), as it is.</summary>
        public void Raw(byte[] encodedField) => _buffer.Write(encodedField, 0, encodedField.Length);

        /// <summary>The tag and length of a length-delimited field whose bytes the caller writes afterwards.</summary>
        public void BytesHeader(int field, long length)
        {
            WriteTag(field, 2);
            WriteVarint((ulong)length);
        }

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _buffer.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _buffer.WriteByte((byte)value);
        }

        private void WriteTag(int field, int wireType) => WriteVarint(((ulong)field << 3) | (uint)wireType);

        public void Int(int field, long value)
        {
            WriteTag(field, 0);
            WriteVarint(unchecked((ulong)value));
        }

        public void Float(int field, float value)
        {
            WriteTag(field, 5);
            var bytes = BitConverter.GetBytes(value);
            if (!BitConverter.IsLittleEndian) Array.Reverse(bytes);
            _buffer.Write(bytes, 0, 4);
        }

        public void Bytes(int field, byte[] value) => Bytes(field, value, 0, value.Length);

        public void Bytes(int field, byte[] value, int offset, int count)
        {
            WriteTag(field, 2);
            WriteVarint((ulong)count);
            _buffer.Write(value, offset, count);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, ProtoWriter nested) => Bytes(field, nested.ToArray());

        public void Message(int field, Action<ProtoWriter> build)
        {
            var nested = new ProtoWriter();
            build(nested);
            Message(field, nested);
        }

        /// <summary>A packed repeated int64 field.</summary>
        public void PackedInts(int field, long[] values)
        {
            var nested = new ProtoWriter();
            foreach (var v in values) nested.WriteVarint(unchecked((ulong)v));
            Message(field, nested);
        }

        /// <summary>
        /// Everything of a graph initializer (GraphProto field 5, a TensorProto with dims, data_type, name and raw_data)
        /// up to its raw bytes, which the caller streams right after; both ONNX writers use it, so a model of hundreds
        /// of MB is written without a second copy of its weights.
        /// </summary>
        public static byte[] InitializerHeader(long[] dims, int dataType, string name, long rawLength)
        {
            var body = new ProtoWriter();
            body.PackedInts(1, dims);
            body.Int(2, dataType);
            body.String(8, name);
            body.BytesHeader(9, rawLength);
            var header = new ProtoWriter();
            header.BytesHeader(5, body.Length + rawLength);
            header.Append(body);
            return header.ToArray();
        }
    }
}
