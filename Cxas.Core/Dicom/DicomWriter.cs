using System.Globalization;
using System.Numerics;
using System.Text;

namespace Cxas.Dicom
{
    /// <summary>
    /// Writes explicit VR little endian elements in the order given (callers keep tags ascending, or let
    /// <see cref="DicomDataSetBuilder"/> sort them). Sequences and items use
    /// undefined lengths with delimiters; values are padded to even length (text with a space, UI and binary with NUL).
    /// </summary>
    internal sealed class DicomWriter
    {
        private readonly Stream _s;
        private readonly byte[] _b = new byte[12];

        public DicomWriter(Stream stream) => _s = stream;

        private void Tag(uint tag)
        {
            _b[0] = (byte)(tag >> 16); _b[1] = (byte)(tag >> 24); _b[2] = (byte)tag; _b[3] = (byte)(tag >> 8);
            _s.Write(_b, 0, 4);
        }

        private void U16(int v) { _b[0] = (byte)v; _b[1] = (byte)(v >> 8); _s.Write(_b, 0, 2); }
        private void U32(uint v) { _b[0] = (byte)v; _b[1] = (byte)(v >> 8); _b[2] = (byte)(v >> 16); _b[3] = (byte)(v >> 24); _s.Write(_b, 0, 4); }

        private static bool IsLong(string vr) => vr == "OB" || vr == "OW" || vr == "SQ" || vr == "UN" || vr == "UT" || vr == "UC" || vr == "UR" || vr == "OF" || vr == "OD" || vr == "OL";

        private void Header(uint tag, string vr, uint length)
        {
            Tag(tag);
            _s.WriteByte((byte)vr[0]);
            _s.WriteByte((byte)vr[1]);
            if (IsLong(vr)) { U16(0); U32(length); }
            else
            {
                if (length > 0xFFFF) throw new ArgumentException($"Value of ({tag >> 16:X4},{tag & 0xFFFF:X4}) is too long for {vr}.");
                U16((int)length);
            }
        }

        public void Bytes(uint tag, string vr, byte[] value, int offset = 0, int count = -1)
        {
            if (count < 0) count = value.Length - offset;
            bool pad = (count & 1) == 1;
            Header(tag, vr, (uint)(count + (pad ? 1 : 0)));
            _s.Write(value, offset, count);
            if (pad) _s.WriteByte(vr == "UI" || vr == "OB" || vr == "OW" || vr == "UN" ? (byte)0 : (byte)' ');
        }

        public void Text(uint tag, string vr, string? value) => Bytes(tag, vr, Encoding.ASCII.GetBytes(value ?? ""));

        public void US(uint tag, int value) { Header(tag, "US", 2); U16(value); }
        public void UL(uint tag, uint value) { Header(tag, "UL", 4); U32(value); }

        public void AT(uint tag, uint value)
        {
            Header(tag, "AT", 4);
            U16((int)(value >> 16));
            U16((int)(value & 0xFFFF));
        }

        public void IS(uint tag, long value) => Text(tag, "IS", value.ToString(CultureInfo.InvariantCulture));

        public void BeginSequence(uint tag) => Header(tag, "SQ", 0xFFFFFFFF);
        public void EndSequence() { Tag(Tags.SequenceDelimitation); U32(0); }
        public void BeginItem() { Tag(Tags.Item); U32(0xFFFFFFFF); }
        public void EndItem() { Tag(Tags.ItemDelimitation); U32(0); }
    }

    /// <summary>UIDs under the 2.25 root (PS3.5 B.2: a UUID written as one decimal integer).</summary>
    internal static class DicomUid
    {
        /// <summary>Cxas' implementation class UID (a fixed UUID-derived UID).</summary>
        public const string ImplementationClass = "2.25.208934785612340518306245011957328364041";
        public const string ImplementationVersion = "CXAS_0_1";

        public static string New()
        {
            var bytes = Guid.NewGuid().ToByteArray();
            var positive = new byte[bytes.Length + 1];
            Array.Copy(bytes, positive, bytes.Length);
            return "2.25." + new BigInteger(positive).ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>
        /// A UID derived from a name: "2.25." and the decimal value of a name-based UUID (RFC 9562 version 8: the first
        /// 16 bytes of the SHA-256 of the UTF-8 name, with the version and variant bits set), read as an unsigned 128-bit
        /// big-endian integer. The same name always gives the same UID; different names collide with negligible probability.
        /// </summary>
        public static string Derive(string name)
        {
            byte[] hash;
            using (var sha = System.Security.Cryptography.SHA256.Create()) hash = sha.ComputeHash(Encoding.UTF8.GetBytes(name));
            var uuid = new byte[16];
            Array.Copy(hash, uuid, 16);
            uuid[6] = (byte)((uuid[6] & 0x0F) | 0x80);
            uuid[8] = (byte)((uuid[8] & 0x3F) | 0x80);
            var littleEndian = new byte[17];
            for (int i = 0; i < 16; i++) littleEndian[i] = uuid[15 - i];
            return "2.25." + new BigInteger(littleEndian).ToString(CultureInfo.InvariantCulture);
        }
    }
}
