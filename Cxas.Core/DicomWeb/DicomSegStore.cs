using System.Threading;
using Cxas.Dicom.Seg;
using Cxas.Export;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// Stores the DICOM-SEG of segmentation results on a DICOMweb server (STOW-RS), idempotently (<see cref="SegStoreBase"/>):
    /// a QIDO-RS search of the source's study says whether the server holds that SEG already; with <c>force</c> it is
    /// stored again (the server replaces it or keeps the first copy, by its own policy: Orthanc replaces it with
    /// "OverwriteInstances": true). Each SEG is one STOW request holding one object, so the server stores it whole or not at all.
    /// </summary>
    public sealed class DicomSegStore : SegStoreBase
    {
        private readonly DicomWebClient _client;

        public DicomSegStore(DicomWebClient client, bool force) : base(force) => _client = client;

        public DicomWebClient Client => _client;

        public override string Target => _client.Root.ToString();

        protected override string Location(string study, SegUids uids) => _client.InstanceUri(study, uids.Series, uids.Instance);

        protected override bool CheckAndSend(string source, byte[] bytes, string study, SegUids uids, out string? storedAt, bool force, CancellationToken cancel)
        {
            storedAt = null;
            bool exists = _client.Exists(study, uids.Instance, cancel);
            if (exists && !force) return true;
            var outcome = _client.Store(bytes, uids.Instance, cancel);
            if (!outcome.Stored)
                throw new CxasException(CxasErrorKind.WriteFailed,
                    $"The server refused the DICOM-SEG of '{source}' (SEG {uids.Instance}): failure reason " +
                    DicomWebClient.DescribeStatus(outcome.FailureReason ?? 0xC000) + (outcome.FailureComment == null ? "" : $" ({outcome.FailureComment})") + ".", source);
            storedAt = outcome.RetrieveUrl;
            Warnings = outcome.Warnings;
            return exists;
        }

        public override void Dispose() => _client.Dispose();
    }
}
