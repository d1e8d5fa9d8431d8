using System.Text.Json.Serialization;

namespace Cxas.Imaging
{
    /// <summary>
    /// A DICOM source's identity, as what is derived from it (a DICOM Segmentation, a secondary capture) needs it: the
    /// instance's UIDs and SOP class, its frame of reference, size and pixel spacing, and the patient and study attributes
    /// a derived object copies, as stored (value bytes, trailing padding removed, keyed by tag). Captured once when the
    /// source is decoded (<c>Cxas.Dicom</c> fills it; imaging only carries it), a few hundred bytes, and plain data: it
    /// travels with a result through <c>ResultTransfer</c>, so a SEG can be made where the source file is not (a PACS
    /// instance, another process). Values are set once, at construction (internal init: PowerShell would call a public one; JSON reads them through
    /// JsonInclude).
    /// </summary>
    public sealed class DicomIdentity
    {
        [JsonInclude] public string? SopClassUid { get; internal init; }
        [JsonInclude] public string? SopInstanceUid { get; internal init; }
        [JsonInclude] public string? StudyInstanceUid { get; internal init; }
        [JsonInclude] public string? SeriesInstanceUid { get; internal init; }
        [JsonInclude] public string? FrameOfReferenceUid { get; internal init; }
        [JsonInclude] public int Rows { get; internal init; }
        [JsonInclude] public int Columns { get; internal init; }
        /// <summary>NumberOfFrames as the source states it (null when absent).</summary>
        [JsonInclude] public double? NumberOfFrames { get; internal init; }
        /// <summary>Row and column spacing in mm (PixelSpacing, else ImagerPixelSpacing), when stated.</summary>
        [JsonInclude] public double? RowSpacingMm { get; internal init; }
        [JsonInclude] public double? ColumnSpacingMm { get; internal init; }
        /// <summary>Patient Study attributes, as text (copied only when well formed).</summary>
        [JsonInclude] public string? PatientAge { get; internal init; }
        [JsonInclude] public string? PatientSize { get; internal init; }
        [JsonInclude] public string? PatientWeight { get; internal init; }

        /// <summary>
        /// The copied patient and study attributes present in the source, by tag: their value bytes in the source's
        /// character set, trailing NUL/space padding removed (empty for a present but empty value).
        /// </summary>
        [JsonInclude] public IReadOnlyDictionary<uint, byte[]> Attributes { get; internal init; } = new Dictionary<uint, byte[]>();

        /// <summary>Whether the source has the attribute (a present but empty value counts).</summary>
        public bool Has(uint tag) => Attributes.ContainsKey(tag);

        /// <summary>The attribute's value bytes; empty when absent.</summary>
        public byte[] Value(uint tag) => Attributes.TryGetValue(tag, out var v) ? v : Array.Empty<byte>();
    }
}
