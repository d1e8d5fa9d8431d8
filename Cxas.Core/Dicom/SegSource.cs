
namespace Cxas.Dicom
{
    /// <summary>
    /// What a DICOM Segmentation needs from its source image, captured when the source is decoded: the identifying UIDs,
    /// the size, and the raw values of the patient and study attributes the SEG copies. A few hundred bytes, so a result
    /// keeps it and a SEG can be written without the source file (a PACS instance has none to re-read).
    /// </summary>
    internal sealed class SegSource
    {
        /// <summary>Attributes copied verbatim (trailing padding removed) with the VR the SEG writes them with.</summary>
        internal static readonly (uint Tag, string Vr)[] Copied =
        {
            (Tags.SpecificCharacterSet, "CS"), (Tags.StudyDate, "DA"), (Tags.StudyTime, "TM"), (Tags.AccessionNumber, "SH"),
            (Tags.ReferringPhysicianName, "PN"), (Tags.PatientName, "PN"), (Tags.PatientId, "LO"), (Tags.PatientBirthDate, "DA"),
            (Tags.PatientSex, "CS"), (Tags.StudyId, "SH"), (Tags.PatientOrientation, "CS"),
        };

        private readonly Dictionary<uint, byte[]> _values = new Dictionary<uint, byte[]>();

        public string Path { get; private set; } = "";
        public string? SopClassUid { get; private set; }
        public string? SopInstanceUid { get; private set; }
        public string? StudyInstanceUid { get; private set; }
        public string? SeriesInstanceUid { get; private set; }
        public int Rows { get; private set; }
        public int Columns { get; private set; }
        public double? NumberOfFrames { get; private set; }
        public string? PatientAge { get; private set; }
        public string? PatientSize { get; private set; }
        public string? PatientWeight { get; private set; }

        /// <summary>Whether the source has the attribute (a present but empty value counts).</summary>
        public bool Has(uint tag) => _values.ContainsKey(tag);

        /// <summary>The attribute's value bytes without trailing NUL/space padding; empty when absent or a sequence.</summary>
        public byte[] Value(uint tag) => _values.TryGetValue(tag, out var v) ? v : Array.Empty<byte>();

        public static SegSource From(DicomFile file)
        {
            var src = file.Dataset;
            var s = new SegSource
            {
                Path = file.Path,
                SopClassUid = src.GetString(Tags.SopClassUid) ?? file.Meta.GetString(Tags.MediaStorageSopClassUid),
                SopInstanceUid = src.GetString(Tags.SopInstanceUid) ?? file.Meta.GetString(Tags.MediaStorageSopInstanceUid),
                StudyInstanceUid = src.GetString(Tags.StudyInstanceUid),
                SeriesInstanceUid = src.GetString(Tags.SeriesInstanceUid),
                Rows = src.GetUShort(Tags.Rows) ?? 0,
                Columns = src.GetUShort(Tags.Columns) ?? 0,
                NumberOfFrames = src.GetNumber(Tags.NumberOfFrames),
                PatientAge = src.GetString(Tags.PatientAge),
                PatientSize = src.GetString(Tags.PatientSize),
                PatientWeight = src.GetString(Tags.PatientWeight),
            };
            foreach (var (tag, _) in Copied)
            {
                var e = src.Get(tag);
                if (e == null) continue;
                if (e.Items != null) { s._values[tag] = Array.Empty<byte>(); continue; }
                int n = e.Length;
                while (n > 0 && (e.Buffer[e.Offset + n - 1] == 0 || e.Buffer[e.Offset + n - 1] == (byte)' ')) n--;
                var bytes = new byte[n];
                Buffer.BlockCopy(e.Buffer, e.Offset, bytes, 0, n);
                s._values[tag] = bytes;
            }
            return s;
        }
    }
}
