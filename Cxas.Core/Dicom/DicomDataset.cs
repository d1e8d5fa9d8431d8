using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Cxas.Dicom
{
    /// <summary>Tags this library reads or writes, as (group &lt;&lt; 16) | element.</summary>
    internal static class Tags
    {
        public const uint FileMetaGroupLength = 0x00020000;
        public const uint MediaStorageSopClassUid = 0x00020002;
        public const uint MediaStorageSopInstanceUid = 0x00020003;
        public const uint TransferSyntaxUid = 0x00020010;
        public const uint SpecificCharacterSet = 0x00080005;
        public const uint ImageType = 0x00080008;
        public const uint SopClassUid = 0x00080016;
        public const uint SopInstanceUid = 0x00080018;
        public const uint StudyDate = 0x00080020;
        public const uint StudyTime = 0x00080030;
        public const uint AccessionNumber = 0x00080050;
        public const uint Modality = 0x00080060;
        public const uint Manufacturer = 0x00080070;
        public const uint ReferringPhysicianName = 0x00080090;
        public const uint PatientName = 0x00100010;
        public const uint PatientId = 0x00100020;
        public const uint PatientBirthDate = 0x00100030;
        public const uint PatientSex = 0x00100040;
        public const uint ViewPosition = 0x00185101;
        public const uint ImagerPixelSpacing = 0x00181164;
        public const uint StudyInstanceUid = 0x0020000D;
        public const uint SeriesInstanceUid = 0x0020000E;
        public const uint StudyId = 0x00200010;
        public const uint SamplesPerPixel = 0x00280002;
        public const uint PhotometricInterpretation = 0x00280004;
        public const uint PlanarConfiguration = 0x00280006;
        public const uint NumberOfFrames = 0x00280008;
        public const uint Rows = 0x00280010;
        public const uint Columns = 0x00280011;
        public const uint PixelSpacing = 0x00280030;
        public const uint BitsAllocated = 0x00280100;
        public const uint BitsStored = 0x00280101;
        public const uint HighBit = 0x00280102;
        public const uint PixelRepresentation = 0x00280103;
        public const uint WindowCenter = 0x00281050;
        public const uint WindowWidth = 0x00281051;
        public const uint RescaleIntercept = 0x00281052;
        public const uint RescaleSlope = 0x00281053;
        public const uint VoiLutFunction = 0x00281056;
        public const uint ModalityLutSequence = 0x00283000;
        public const uint LutDescriptor = 0x00283002;
        public const uint LutData = 0x00283006;
        public const uint VoiLutSequence = 0x00283010;
        public const uint PresentationLutShape = 0x20500020;
        public const uint PixelData = 0x7FE00010;
        public const uint FloatPixelData = 0x7FE00008;
        public const uint DoubleFloatPixelData = 0x7FE00009;
        public const uint Item = 0xFFFEE000;
        public const uint ItemDelimitation = 0xFFFEE00D;
        public const uint SequenceDelimitation = 0xFFFEE0DD;
    }

    /// <summary>One parsed data element. Values stay in the file's buffer; sequences hold parsed items.</summary>
    internal sealed class DicomElement
    {
        public DicomElement(uint tag, string vr, byte[] buffer, int offset, int length, bool bigEndian)
        {
            Tag = tag;
            Vr = vr;
            Buffer = buffer;
            Offset = offset;
            Length = length;
            BigEndian = bigEndian;
        }

        public uint Tag { get; }
        /// <summary>Explicit VR, or the one inferred for implicit files ("UN" when unknown).</summary>
        public string Vr { get; }
        public byte[] Buffer { get; }
        public int Offset { get; }
        public int Length { get; }
        public bool BigEndian { get; }
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
