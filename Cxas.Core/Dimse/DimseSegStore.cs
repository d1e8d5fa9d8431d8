using System.Threading;
using Cxas.Dicom.Seg;
using Cxas.DicomWeb;
using Cxas.Export;
using Cxas.Segmentation;

namespace Cxas.Dimse
{
    /// <summary>
    /// Stores the DICOM-SEG of segmentation results on a DIMSE peer (C-STORE), with the idempotence of
    /// <see cref="DicomSegStore"/>: the SEG's UIDs are derived from the source instance and the model, and an image-level
    /// C-FIND for that SOP instance first says whether the peer holds it already; it is then left alone unless
    /// <c>force</c>. Each C-STORE status is read: success or a warning (the warning is reported), otherwise an error
    /// naming the source and the status.
    /// </summary>
    public sealed class DimseSegStore : ISegStore
    {
        private readonly DimseClient _client;
        private readonly bool _force;

        public DimseSegStore(DimseClient client, bool force)
        {
            _client = client;
            _force = force;
        }

        public string Target => _client.Peer.ToString();

        public IReadOnlyList<string> Warnings { get; private set; } = new List<string>();

        public MaskExportRecord Store(SegmentationResult result, IReadOnlyList<int> classes, CancellationToken cancel = default)
        {
            var study = DicomSegWriter.StudyOf(result);
            var bytes = DicomSegWriter.Build(result, classes, out var uids, out int segments);
            var record = new MaskExportRecord
            {
                Path = result.Path, Format = "dicom-seg", Classes = segments, Bytes = bytes.Length, SopInstanceUid = uids.Instance,
                OutputPath = $"{_client.Peer}/studies/{study}/series/{uids.Series}/instances/{uids.Instance}",
            };
            Warnings = new List<string>();
            bool exists = _client.Exists(study, uids.Series, uids.Instance, cancel);
            if (exists && !_force)
            {
                record.Status = "Exists";
                record.Bytes = 0;
                return record;
            }
            var outcome = _client.Store(result.Path, bytes, cancel);
            if (!outcome.Stored)
                throw new CxasException(CxasErrorKind.WriteFailed,
                    $"{_client.Peer} refused the DICOM-SEG of '{result.Path}' (SEG {uids.Instance}): status {outcome.Describe()}.", result.Path);
            if (outcome.Status != 0) Warnings = new List<string> { "status " + outcome.Describe() };
            record.Status = exists ? "Replaced" : "Stored";
            return record;
        }

        public void Dispose() { }
    }
}
