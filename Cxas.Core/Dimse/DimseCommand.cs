using System.Text;

namespace Cxas.Dimse
{
    /// <summary>DIMSE command field values (PS3.7 E.1).</summary>
    internal static class CommandField
    {
        public const ushort CStoreRq = 0x0001, CStoreRsp = 0x8001, CGetRq = 0x0010, CGetRsp = 0x8010, CFindRq = 0x0020,
            CFindRsp = 0x8020, CMoveRq = 0x0021, CMoveRsp = 0x8021, CEchoRq = 0x0030, CEchoRsp = 0x8030, CCancelRq = 0x0FFF;
    }

    /// <summary>
    /// A DIMSE command set: group 0000 elements, always implicit VR little endian (PS3.7 6.3.1), written in ascending tag
    /// order after the group length. Values are kept as bytes; the VR of each command element is fixed by PS3.7 E.1, so
    /// the accessors read US and UL as binary and everything else as padded ASCII. Decoding checks each length against the
    /// bytes there and refuses elements outside group 0000.
    /// </summary>
    internal sealed class DimseCommand
    {
        public const uint AffectedSopClassUid = 0x00000002, RequestedSopClassUid = 0x00000003, Field = 0x00000100, MessageId = 0x00000110,
            MessageIdBeingRespondedTo = 0x00000120, MoveDestination = 0x00000600, Priority = 0x00000700, DataSetType = 0x00000800,
            Status = 0x00000900, ErrorComment = 0x00000902, AffectedSopInstanceUid = 0x00001000, RequestedSopInstanceUid = 0x00001001,
            Remaining = 0x00001020, Completed = 0x00001021, Failed = 0x00001022, Warning = 0x00001023,
            MoveOriginatorAe = 0x00001030, MoveOriginatorMessageId = 0x00001031;

        /// <summary>CommandDataSetType value meaning "no data set follows".</summary>
        public const ushort NoDataSet = 0x0101;

        private readonly SortedDictionary<uint, byte[]> _elements = new SortedDictionary<uint, byte[]>();

        public DimseCommand Set(uint tag, ushort value)
        {
            _elements[tag] = new[] { (byte)value, (byte)(value >> 8) };
            return this;
        }

        public DimseCommand Set(uint tag, string value)
        {
            var bytes = Encoding.ASCII.GetBytes(value);
            if ((bytes.Length & 1) == 1)
            {
                Array.Resize(ref bytes, bytes.Length + 1);
                bytes[bytes.Length - 1] = IsUid(tag) ? (byte)0 : (byte)' ';
            }
            _elements[tag] = bytes;
            return this;
        }

        private static bool IsUid(uint tag) => tag == AffectedSopClassUid || tag == RequestedSopClassUid || tag == AffectedSopInstanceUid || tag == RequestedSopInstanceUid;

        public bool Has(uint tag) => _elements.ContainsKey(tag);

        public ushort? GetUS(uint tag) => _elements.TryGetValue(tag, out var v) && v.Length >= 2 ? (ushort)(v[0] | v[1] << 8) : (ushort?)null;

        public string? GetString(uint tag)
        {
            if (!_elements.TryGetValue(tag, out var v)) return null;
            var s = Encoding.ASCII.GetString(v).Trim(' ', '\0');
            return s.Length == 0 ? null : s;
        }

        public ushort CommandFieldValue => GetUS(Field) ?? 0;
        public bool HasDataSet => (GetUS(DataSetType) ?? NoDataSet) != NoDataSet;
        public ushort StatusValue => GetUS(Status) ?? 0xFFFF;

        public byte[] Encode()
        {
            var body = new MemoryStream();
            foreach (var e in _elements)
            {
                if (e.Key == 0) continue;
                Element(body, e.Key, e.Value);
            }
            var s = new MemoryStream();
            var length = new byte[4];
            length[0] = (byte)body.Length; length[1] = (byte)(body.Length >> 8); length[2] = (byte)(body.Length >> 16); length[3] = (byte)(body.Length >> 24);
            Element(s, 0, length);
            body.Position = 0;
            body.CopyTo(s);
            return s.ToArray();
        }

        private static void Element(Stream s, uint tag, byte[] value)
        {
            var h = new byte[8];
            h[0] = (byte)(tag >> 16); h[1] = (byte)(tag >> 24); h[2] = (byte)tag; h[3] = (byte)(tag >> 8);
            h[4] = (byte)value.Length; h[5] = (byte)(value.Length >> 8); h[6] = (byte)(value.Length >> 16); h[7] = (byte)(value.Length >> 24);
            s.Write(h, 0, 8);
            s.Write(value, 0, value.Length);
        }

        public static DimseCommand Decode(byte[] data)
        {
            var c = new DimseCommand();
            int pos = 0;
            while (pos < data.Length)
            {
                if (pos + 8 > data.Length) throw new DimseProtocolException("a DIMSE command ends inside an element header.", 6);
                uint tag = (uint)(data[pos] | data[pos + 1] << 8) << 16 | (uint)(data[pos + 2] | data[pos + 3] << 8);
                uint length = (uint)(data[pos + 4] | data[pos + 5] << 8 | data[pos + 6] << 16 | data[pos + 7] << 24);
                if (tag >> 16 != 0) throw new DimseProtocolException($"a DIMSE command holds element ({tag >> 16:X4},{tag & 0xFFFF:X4}) outside group 0000.", 6);
                if (length > (uint)(data.Length - pos - 8)) throw new DimseProtocolException($"a DIMSE command element announces {length} bytes past its end.", 6);
                var value = new byte[length];
                Array.Copy(data, pos + 8, value, 0, (int)length);
                c._elements[tag] = value;
                pos += 8 + (int)length;
            }
            if (!c.Has(Field)) throw new DimseProtocolException("a DIMSE command has no command field.", 6);
            return c;
        }

        /// <summary>A response to <paramref name="request"/>: command field, message id responded to, status, SOP class and instance echoed.</summary>
        public static DimseCommand Response(DimseCommand request, ushort field, ushort status, bool hasDataSet = false)
        {
            var r = new DimseCommand().Set(Field, field).Set(MessageIdBeingRespondedTo, request.GetUS(MessageId) ?? 0)
                .Set(DataSetType, hasDataSet ? (ushort)0x0000 : NoDataSet).Set(Status, status);
            var sopClass = request.GetString(AffectedSopClassUid) ?? request.GetString(RequestedSopClassUid);
            if (sopClass != null) r.Set(AffectedSopClassUid, sopClass);
            var sop = request.GetString(AffectedSopInstanceUid);
            if (sop != null) r.Set(AffectedSopInstanceUid, sop);
            return r;
        }

        /// <summary>PS3.7 C: success 0000, warnings 0001 and Bxxx, cancel FE00, pending FF00/FF01, the rest failures.</summary>
        public static string Describe(ushort status)
        {
            switch (status)
            {
                case 0x0000: return "0000 (success)";
                case 0xFE00: return "FE00 (cancelled)";
                case 0xFF00: case 0xFF01: return $"{status:X4} (pending)";
                case 0xA700: return "A700 (out of resources)";
                case 0xA900: return "A900 (data set does not match SOP class)";
                case 0xC000: return "C000 (cannot understand)";
                case 0x0122: return "0122 (SOP class not supported)";
                case 0x0211: return "0211 (unrecognised operation)";
                case 0xA801: return "A801 (move destination unknown)";
            }
            if (status == 0x0001 || (status & 0xF000) == 0xB000) return $"{status:X4} (warning)";
            return $"{status:X4} (failure)";
        }

        public static bool IsSuccessOrWarning(ushort status) => status == 0 || status == 0x0001 || (status & 0xF000) == 0xB000;
        public static bool IsPending(ushort status) => status == 0xFF00 || status == 0xFF01;
    }
}
