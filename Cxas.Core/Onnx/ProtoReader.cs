using System;
using System.Collections.Generic;
using System.Text;

namespace Cxas.Onnx
{
    /// <summary>One field of a protocol-buffers message: its number, wire type and where its value lies.</summary>
    internal readonly struct ProtoField
    {
        public ProtoField(int number, int wireType, ulong scalar, int start, int offset, int length, int end)
        {
            Number = number; WireType = wireType; Scalar = scalar; Start = start; Offset = offset; Length = length; End = end;
        }

        public int Number { get; }
        /// <summary>0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.</summary>
        public int WireType { get; }
        /// <summary>The value of a varint or fixed field.</summary>
        public ulong Scalar { get; }
        /// <summary>Where the field's bytes start: the payload of a length-delimited field, else the value itself.</summary>
        public int Offset { get; }
        public int Length { get; }
        /// <summary>Where the field's tag starts and where the whole field ends: the span that re-encodes it as it was.</summary>
        public int Start { get; }
        public int End { get; }
    }

    /// <summary>
    /// Minimal protocol-buffers decoder over a byte array: a message is read as its list of fields, each pointing into
    /// the array, so nested messages and large tensors are never copied until asked for.
    /// </summary>
    internal static class ProtoReader
    {
        /// <summary>The fields of the message in <c>data[offset .. offset+length)</c>, in order.</summary>
        public static List<ProtoField> Fields(byte[] data, int offset, int length, string source)
        {
            var fields = new List<ProtoField>();
            int at = offset, end = offset + length;
            while (at < end)
            {
                int fieldStart = at;
                ulong tag = Varint(data, ref at, end, source);
                int number = (int)(tag >> 3), wire = (int)(tag & 7);
                if (number <= 0) throw Bad(source, fieldStart, "field number 0");
                switch (wire)
                {
                    case 0:
                        { int valueAt = at; ulong v = Varint(data, ref at, end, source); fields.Add(new ProtoField(number, 0, v, fieldStart, valueAt, at - valueAt, at)); }
                        break;
                    case 1:
                        if (end - at < 8) throw Bad(source, at, "truncated fixed64");
                        fields.Add(new ProtoField(number, 1, BitConverter.ToUInt64(data, at), fieldStart, at, 8, at + 8));
                        at += 8;
                        break;
                    case 5:
                        if (end - at < 4) throw Bad(source, at, "truncated fixed32");
                        fields.Add(new ProtoField(number, 5, BitConverter.ToUInt32(data, at), fieldStart, at, 4, at + 4));
                        at += 4;
                        break;
                    case 2:
                        ulong len = Varint(data, ref at, end, source);
                        if (len > (ulong)(end - at)) throw Bad(source, at, $"length {len} runs past the message");
                        fields.Add(new ProtoField(number, 2, 0, fieldStart, at, (int)len, at + (int)len));
                        at += (int)len;
                        break;
                    default:
                        throw Bad(source, fieldStart, $"wire type {wire} is not supported");
                }
            }
            return fields;
        }

        public static string String(byte[] data, ProtoField f) => Encoding.UTF8.GetString(data, f.Offset, f.Length);

        public static byte[] Bytes(byte[] data, ProtoField f) => Slice(data, f.Offset, f.Length);

        /// <summary>The whole field, tag included, as it was encoded.</summary>
        public static byte[] Encoded(byte[] data, ProtoField f) => Slice(data, f.Start, f.End - f.Start);

        private static byte[] Slice(byte[] data, int offset, int length)
        {
            var copy = new byte[length];
            Buffer.BlockCopy(data, offset, copy, 0, length);
            return copy;
        }

        /// <summary>A repeated int64 field, packed (wire type 2) or one value per field (wire type 0).</summary>
        public static void AddInts(byte[] data, ProtoField f, List<long> into, string source)
        {
            if (f.WireType == 0) { into.Add(unchecked((long)f.Scalar)); return; }
            int at = f.Offset, end = f.Offset + f.Length;
            while (at < end) into.Add(unchecked((long)Varint(data, ref at, end, source)));
        }

        /// <summary>A repeated float field, packed or one value per field.</summary>
        public static void AddFloats(byte[] data, ProtoField f, List<float> into)
        {
            if (f.WireType == 5) { into.Add(BitConverter.ToSingle(BitConverter.GetBytes((uint)f.Scalar), 0)); return; }
            for (int at = f.Offset; at + 4 <= f.Offset + f.Length; at += 4) into.Add(BitConverter.ToSingle(data, at));
        }

        private static ulong Varint(byte[] data, ref int at, int end, string source)
        {
            ulong value = 0;
            for (int shift = 0; shift < 70; shift += 7)
            {
                if (at >= end) throw Bad(source, at, "truncated varint");
                byte b = data[at++];
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return value;
            }
            throw Bad(source, at, "varint longer than 10 bytes");
        }

        private static CxasException Bad(string source, int at, string why) =>
            new CxasException(CxasErrorKind.InvalidModel, $"'{source}' is not a valid ONNX model: {why} at byte {at}.", source);
    }
}
