using System.Threading;
using Cxas.Dicom.Seg;
using Cxas.DicomWeb;
using Cxas.Export;

namespace Cxas.Dimse
{
    /// <summary>
    /// Stores the DICOM-SEG of segmentation results on a DIMSE peer (C-STORE), idempotently (<see cref="SegStoreBase"/>):
    /// an image-level C-FIND for the SEG's derived SOP instance, on the same association as the C-STORE, says whether the
    /// peer holds it already. Each C-STORE
    /// status is read: success, or a warning (reported), otherwise an error naming the source and the status.
    /// </summary>
    public sealed class DimseSegStore : SegStoreBase
    {
        private readonly DimseClient _client;

        public DimseSegStore(DimseClient client, bool force) : base(force) => _client = client;

        public override string Target => _client.Peer.ToString();

        protected override string Location(string study, SegUids uids) => $"{_client.Peer}/studies/{study}/series/{uids.Series}/instances/{uids.Instance}";

        protected override bool CheckAndSend(string source, byte[] bytes, string study, SegUids uids, out string? storedAt, bool force, CancellationToken cancel)
        {
            storedAt = null;
            var outcome = _client.StoreUnlessPresent(source, bytes, study, uids.Series, force, out bool existed, cancel);
            if (outcome == null) return existed;
            if (!outcome.Stored)
                throw new CxasException(CxasErrorKind.WriteFailed,
                    $"{_client.Peer} refused the DICOM-SEG of '{source}' (SEG {uids.Instance}): status {outcome.Describe()}.", source);
            if (outcome.Status != 0) Warnings = new List<string> { "status " + outcome.Describe() };
            return existed;
        }
    }
}
