namespace Cxas.Dicom.Seg
{
    /// <summary>
    /// The UIDs of the SEG Cxas writes for one source instance and one model: derived (see <see cref="DicomUid.Derive"/>) from
    /// the source SOP Instance UID, the model's name and version, so a rerun writes the same series and instance again and a
    /// PACS can recognise it (no duplicate is stored). Another model or model version gives other UIDs.
    /// </summary>
    public sealed class SegUids
    {
        /// <summary>The UIDs derived from one seed, one name each.</summary>
        private SegUids(string seed)
        {
            Instance = DicomUid.Derive(seed + "instance");
            Series = DicomUid.Derive(seed + "series");
            Organisation = DicomUid.Derive(seed + "dimension-organisation");
        }

        /// <summary>SOP Instance UID of the SEG.</summary>
        public string Instance { get; }
        /// <summary>Series Instance UID of the SEG (one series per source instance and model).</summary>
        public string Series { get; }
        /// <summary>Dimension Organization UID.</summary>
        public string Organisation { get; }

        public static SegUids For(string sourceSopInstanceUid, string modelName, string modelVersion) =>
            new SegUids("cxas-seg\n" + sourceSopInstanceUid + "\n" + modelName + "\n" + modelVersion + "\n");

        /// <summary>New random UIDs, for a SEG that need not be recognised again.</summary>
        public static SegUids Random() => new SegUids("cxas-seg-random\n" + DicomUid.New() + "\n");
    }
}
