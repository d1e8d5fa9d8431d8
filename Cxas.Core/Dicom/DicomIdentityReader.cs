using Cxas.Imaging;

namespace Cxas.Dicom
{
    /// <summary>
    /// Reads a decoded file's <see cref="DicomIdentity"/>: the UIDs (SOP class and instance from the data set, else from
    /// the file meta), size, frames and spacing, then the attributes a derived object copies, each kept with the VR it is
    /// written with.
    /// </summary>
    internal static class DicomIdentityReader
    {
        /// <summary>Attributes copied verbatim (trailing padding removed) with the VR derived objects write them with.</summary>
        internal static readonly (uint Tag, string Vr)[] Copied =
        {
            (Tags.SpecificCharacterSet, "CS"), (Tags.StudyDate, "DA"), (Tags.StudyTime, "TM"), (Tags.AccessionNumber, "SH"),
            (Tags.ReferringPhysicianName, "PN"), (Tags.PatientName, "PN"), (Tags.PatientId, "LO"), (Tags.PatientBirthDate, "DA"),
            (Tags.PatientSex, "CS"), (Tags.StudyId, "SH"), (Tags.PatientOrientation, "CS"),
        };

        public static DicomIdentity Read(DicomFile file, double? rowSpacingMm, double? columnSpacingMm)
        {
            var src = file.Dataset;
            var copied = new Dictionary<uint, byte[]>();
            foreach (var (tag, _) in Copied)
            {
                var e = src.Get(tag);
                if (e == null) continue;
                if (e.Items != null) { copied[tag] = Array.Empty<byte>(); continue; }
                int n = e.Length;
                while (n > 0 && (e.Buffer[e.Offset + n - 1] == 0 || e.Buffer[e.Offset + n - 1] == (byte)' ')) n--;
                var bytes = new byte[n];
                Buffer.BlockCopy(e.Buffer, e.Offset, bytes, 0, n);
                copied[tag] = bytes;
            }
            return new DicomIdentity
            {
                SopClassUid = src.GetString(Tags.SopClassUid) ?? file.Meta.GetString(Tags.MediaStorageSopClassUid),
                SopInstanceUid = src.GetString(Tags.SopInstanceUid) ?? file.Meta.GetString(Tags.MediaStorageSopInstanceUid),
                StudyInstanceUid = src.GetString(Tags.StudyInstanceUid),
                SeriesInstanceUid = src.GetString(Tags.SeriesInstanceUid),
                FrameOfReferenceUid = src.GetString(Tags.FrameOfReferenceUid),
                Rows = src.GetUShort(Tags.Rows) ?? 0,
                Columns = src.GetUShort(Tags.Columns) ?? 0,
                NumberOfFrames = src.GetNumber(Tags.NumberOfFrames),
                RowSpacingMm = rowSpacingMm,
                ColumnSpacingMm = columnSpacingMm,
                PatientAge = src.GetString(Tags.PatientAge),
                PatientSize = src.GetString(Tags.PatientSize),
                PatientWeight = src.GetString(Tags.PatientWeight),
                Attributes = copied,
            };
        }
    }
}
