
namespace Cxas.Imaging
{
    /// <summary>
    /// A DICOM source's identity, as what is derived from it (a DICOM Segmentation, a secondary capture) needs it: the
    /// instance's UIDs and SOP class, its frame of reference, size and pixel spacing, and the patient and study attributes
    /// a derived object copies, as stored (value bytes, trailing padding removed, keyed by tag). Captured once when the
    /// source is decoded (<c>Cxas.Dicom</c> fills it; imaging only carries it), a few hundred bytes, and plain data: it
    /// travels with a result through <c>ResultTransfer</c>, so a SEG can be made where the source file is not (a PACS
    /// instance, another process). Values are set once, at construction.
    /// </summary>
    public sealed class DicomIdentity
    {
        public string? SopClassUid { get; init; }
        public string? SopInstanceUid { get; init; }
        public string? StudyInstanceUid { get; init; }
        public string? SeriesInstanceUid { get; init; }
        public string? FrameOfReferenceUid { get; init; }
        public int Rows { get; init; }
        public int Columns { get; init; }
        /// <summary>NumberOfFrames as the source states it (null when absent).</summary>
        public double? NumberOfFrames { get; init; }
        /// <summary>Row and column spacing in mm (PixelSpacing, else ImagerPixelSpacing), when stated.</summary>
        public double? RowSpacingMm { get; init; }
        public double? ColumnSpacingMm { get; init; }
        /// <summary>Patient Study attributes, as text (copied only when well formed).</summary>
        public string? PatientAge { get; init; }
        public string? PatientSize { get; init; }
        public string? PatientWeight { get; init; }

        /// <summary>
        /// The copied patient and study attributes present in the source, by tag: their value bytes in the source's
        /// character set, trailing NUL/space padding removed (empty for a present but empty value).
        /// </summary>
        public IReadOnlyDictionary<uint, byte[]> Attributes { get; init; } = new Dictionary<uint, byte[]>();

        /// <summary>Whether the source has the attribute (a present but empty value counts).</summary>
        public bool Has(uint tag) => Attributes.ContainsKey(tag);

        /// <summary>The attribute's value bytes; empty when absent.</summary>
        public byte[] Value(uint tag) => Attributes.TryGetValue(tag, out var v) ? v : Array.Empty<byte>();
    }
}
