using System.Globalization;
using System.Text;

namespace Cxas.Dicom
{
    /// <summary>One parsed data element. Values stay in the file's buffer; sequences hold parsed items.</summary>
    /// <param name="Tag">Group and element, (group &lt;&lt; 16) | element.</param>
    /// <param name="Vr">Explicit VR, or the one inferred for implicit files ("UN" when unknown).</param>
    /// <param name="Buffer">The file's bytes.</param>
    /// <param name="Offset">Where the value starts in <paramref name="Buffer"/>.</param>
    /// <param name="Length">The value's length in bytes.</param>
    /// <param name="BigEndian">Whether the value is big-endian (the retired explicit VR big endian syntax).</param>
    internal sealed record DicomElement(uint Tag, string Vr, byte[] Buffer, int Offset, int Length, bool BigEndian)
    {
        /// <summary>Items of a sequence (SQ, or an undefined-length element parsed as one).</summary>
        public List<DicomDataset>? Items { get; set; }
        /// <summary>Fragments of encapsulated pixel data (the basic offset table is the first item, kept apart).</summary>
        public List<ArraySegment<byte>>? Fragments { get; set; }
        public ArraySegment<byte>? OffsetTable { get; set; }

        public ReadOnlySpan<byte> Span => new ReadOnlySpan<byte>(Buffer, Offset, Length);
    }

    /// <summary>A parsed data set (top level or a sequence item).</summary>
    internal sealed class DicomDataset
    {
        private readonly Dictionary<uint, DicomElement> _elements = new Dictionary<uint, DicomElement>();

        public IEnumerable<DicomElement> Elements => _elements.Values;
        public Encoding TextEncoding { get; set; } = Encoding.ASCII;

        public void Add(DicomElement e) => _elements[e.Tag] = e;
        public bool Contains(uint tag) => _elements.ContainsKey(tag);
        public DicomElement? Get(uint tag) => _elements.TryGetValue(tag, out var e) ? e : null;

        /// <summary>A text value with padding (spaces, NULs) trimmed; null when absent or empty.</summary>
        public string? GetString(uint tag)
        {
            var e = Get(tag);
            if (e == null || e.Length == 0 || e.Items != null) return null;
            var s = TextEncoding.GetString(e.Buffer, e.Offset, e.Length).TrimEnd(' ', '\0').TrimStart(' ');
            return s.Length == 0 ? null : s;
        }

        /// <summary>The backslash-separated values of a text element.</summary>
        public string[] GetStrings(uint tag)
        {
            var s = GetString(tag);
            if (s == null) return Array.Empty<string>();
            var parts = s.Split('\\');
            for (int i = 0; i < parts.Length; i++) parts[i] = parts[i].Trim(' ', '\0');
            return parts;
        }

        /// <summary>Numbers of a DS/IS element (or a binary numeric element), skipping unparsable ones.</summary>
        public double[] GetNumbers(uint tag)
        {
            var e = Get(tag);
            if (e == null || e.Items != null) return Array.Empty<double>();
            switch (e.Vr)
            {
                case "US": case "SS": case "UL": case "SL": case "FL": case "FD":
                    var list = new List<double>();
                    int size = e.Vr == "FD" ? 8 : e.Vr == "US" || e.Vr == "SS" ? 2 : 4;
                    for (int i = 0; i + size <= e.Length; i += size) list.Add(ReadBinary(e, i, e.Vr));
                    return list.ToArray();
            }
            var result = new List<double>();
            foreach (var part in GetStrings(tag))
                if (double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && !double.IsNaN(v) && !double.IsInfinity(v))
                    result.Add(v);
            return result.ToArray();
        }

        public double? GetNumber(uint tag)
        {
            var n = GetNumbers(tag);
            return n.Length > 0 ? n[0] : (double?)null;
        }

        /// <summary>An unsigned 16-bit value (US), tolerating writers that used other binary or text VRs.</summary>
        public int? GetUShort(uint tag)
        {
            var e = Get(tag);
            if (e == null || e.Items != null || e.Length == 0) return null;
            if (e.Vr == "IS" || e.Vr == "DS")
            {
                var n = GetNumber(tag);
                return n.HasValue && n.Value >= 0 && n.Value <= 65535 ? (int)n.Value : (int?)null;
            }
            if (e.Length < 2) return null;
            return ReadUInt16(e, 0);
        }

        public static int ReadUInt16(DicomElement e, int at) =>
            e.BigEndian ? (e.Buffer[e.Offset + at] << 8) | e.Buffer[e.Offset + at + 1]
                        : e.Buffer[e.Offset + at] | (e.Buffer[e.Offset + at + 1] << 8);

        private static double ReadBinary(DicomElement e, int at, string vr)
        {
            var b = new byte[8];
            int size = vr == "FD" ? 8 : vr == "US" || vr == "SS" ? 2 : 4;
            Array.Copy(e.Buffer, e.Offset + at, b, 0, size);
            if (e.BigEndian != !BitConverter.IsLittleEndian) Array.Reverse(b, 0, size);
            switch (vr)
            {
                case "US": return BitConverter.ToUInt16(b, 0);
                case "SS": return BitConverter.ToInt16(b, 0);
                case "UL": return BitConverter.ToUInt32(b, 0);
                case "SL": return BitConverter.ToInt32(b, 0);
                case "FL": return BitConverter.ToSingle(b, 0);
                default: return BitConverter.ToDouble(b, 0);
            }
        }

        /// <summary>First item of a sequence, or null.</summary>
        public DicomDataset? FirstItem(uint tag)
        {
            var e = Get(tag);
            return e?.Items != null && e.Items.Count > 0 ? e.Items[0] : null;
        }
    }
}
