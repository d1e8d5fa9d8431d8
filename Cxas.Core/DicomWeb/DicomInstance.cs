using Cxas.Imaging;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// One instance found on a DICOMweb server (Find-CxasDicomInstance): a flat row for tables and CSV, and the input of a
    /// segmentation (Invoke-CxasSegmentation retrieves it over WADO-RS through the connection it was found with).
    /// </summary>
    public sealed class DicomInstance
    {
        /// <summary>The instance's WADO-RS URI: <c>{root}/studies/{study}/series/{series}/instances/{sop}</c>.</summary>
        public string Uri { get; internal init; } = "";
        public string StudyInstanceUid { get; internal init; } = "";
        public string SeriesInstanceUid { get; internal init; } = "";
        public string SopInstanceUid { get; internal init; } = "";
        public string? SopClassUid { get; internal init; }
        public string? PatientId { get; internal init; }
        public string? Modality { get; internal init; }
        public string? StudyDate { get; internal init; }
        public string? SeriesDescription { get; internal init; }
        public int? InstanceNumber { get; internal init; }
        public int? Rows { get; internal init; }
        public int? Columns { get; internal init; }

        /// <summary>The connection it was found with (credentials stay in it, never in the object's visible properties).</summary>
        internal DicomWebClient? Client { get; set; }

        /// <summary>How an instance that did not come from DICOMweb is fetched as Part 10 bytes (DIMSE C-GET, a spool file).</summary>
        internal Func<System.Threading.CancellationToken, byte[]>? Retrieve { get; set; }

        /// <summary>SOP classes and modalities that are not images: structured reports, presentation states, SEGs, documents.</summary>
        private static readonly HashSet<string> NonImageModalities = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "SR", "PR", "SEG", "KO", "REG", "RTSTRUCT", "RTPLAN", "RTDOSE", "DOC", "ECG", "AU", "FID", "PLAN",
        };

        private static readonly string[] NonImageClassPrefixes =
        {
            "1.2.840.10008.5.1.4.1.1.66", // segmentation, registration, fiducials
            "1.2.840.10008.5.1.4.1.1.88", // structured reports, key object selection
            "1.2.840.10008.5.1.4.1.1.11", // presentation states
            "1.2.840.10008.5.1.4.1.1.104", // encapsulated documents
            "1.2.840.10008.5.1.4.1.1.9", // waveforms
            "1.2.840.10008.5.1.4.1.1.481", // RT objects
        };

        /// <summary>Whether this is an image that can be segmented (not an SR, presentation state, existing SEG, ...).</summary>
        public bool IsImage
        {
            get
            {
                if (Modality != null && NonImageModalities.Contains(Modality)) return false;
                if (SopClassUid != null)
                    foreach (var prefix in NonImageClassPrefixes)
                        if (SopClassUid == prefix || SopClassUid.StartsWith(prefix + ".", StringComparison.Ordinal)) return false;
                return true;
            }
        }

        /// <summary>
        /// This instance as a segmentation input: retrieved (WADO-RS, or C-GET for a DIMSE instance) and decoded from memory
        /// with the DICOM reader of the run's configuration when the queue decodes it, so retrieval of one instance
        /// overlaps inference on the one before. Its outputs are named by the SOP Instance UID.
        /// </summary>
        public InputFile ToInput()
        {
            var retrieve = Retrieve;
            if (retrieve != null)
                return new InputFile(Uri, null, readers => Cxas.Dicom.DicomImageReader.Of(readers, Uri).Read(Uri, retrieve(default), readers.Options));
            var client = Client ?? throw new CxasException(CxasErrorKind.InvalidArgument,
                $"'{Uri}' has no DICOMweb connection: pass instances that a search of the server found.", Uri);
            return new InputFile(Uri, null, readers => client.LoadImage(this, readers));
        }

        public override string ToString() => Uri;
    }
}
