using System.Threading;
using Cxas.Dicom.Seg;
using Cxas.Export;
using Cxas.Segmentation;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// Stores the DICOM-SEG of segmentation results on a DICOMweb server (STOW-RS), idempotently: the SEG's UIDs are derived
    /// from the source SOP instance and the model (<see cref="SegUids"/>), and before storing, a QIDO-RS search of the
    /// source's study says whether the server holds that SEG already; it is then left alone unless <c>force</c>, which stores
    /// it again (the server replaces it or keeps the first copy, by its own policy: Orthanc replaces it with
    /// "OverwriteInstances": true). Each SEG is one STOW request holding one object, so the server stores it whole or not at all.
    /// </summary>
    public sealed class DicomSegStore : ISegStore
    {
        private readonly DicomWebClient _client;
        private readonly bool _force;

        public DicomSegStore(DicomWebClient client, bool force)
        {
            _client = client;
            _force = force;
        }

        public DicomWebClient Client => _client;

        public string Target => _client.Root.ToString();

        public void Dispose() => _client.Dispose();

        /// <summary>Stores the SEG of <paramref name="classes"/> (their non-empty ones) of a result; failures throw, naming the source.</summary>
        public MaskExportRecord Store(SegmentationResult result, IReadOnlyList<int> classes, CancellationToken cancel = default)
        {
            var study = DicomSegWriter.StudyOf(result);
            var bytes = DicomSegWriter.Build(result, classes, out var uids, out int segments);
            var record = new MaskExportRecord
            {
                Path = result.Path, Format = "dicom-seg", Classes = segments, Bytes = bytes.Length, SopInstanceUid = uids.Instance,
                OutputPath = _client.InstanceUri(study, uids.Series, uids.Instance),
            };
            bool exists = _client.Exists(study, uids.Instance, cancel);
            if (exists && !_force)
            {
                record.Status = "Exists";
                record.Bytes = 0;
                return record;
            }
            var outcome = _client.Store(bytes, uids.Instance, cancel);
            if (!outcome.Stored)
                throw new CxasException(CxasErrorKind.WriteFailed,
                    $"The server refused the DICOM-SEG of '{result.Path}' (SEG {uids.Instance}): failure reason " +
                    DicomWebClient.DescribeStatus(outcome.FailureReason ?? 0xC000) + ".", result.Path);
            record.Status = exists ? "Replaced" : "Stored";
            if (outcome.RetrieveUrl != null) record.OutputPath = outcome.RetrieveUrl;
            Warnings = outcome.Warnings;
            return record;
        }

        /// <summary>The warnings of the last store (STOW-RS WarningReason), for the cmdlet to show.</summary>
        public IReadOnlyList<string> Warnings { get; private set; } = new List<string>();
    }
}
