using System.Threading;
using Cxas.Dicom.Seg;
using Cxas.Export;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// A PACS as a destination of DICOM-SEGs (<see cref="ISegDestination"/>; <see cref="SegSink"/> sends them): over
    /// DICOMweb (<see cref="DicomSegStore"/>, STOW-RS) or DIMSE (<see cref="Dimse.DimseSegStore"/>, C-STORE).
    /// </summary>
    public interface ISegStore : ISegDestination
    {
    }

    /// <summary>
    /// The idempotent store both protocols share: the SEG comes with UIDs derived from the source instance and the model
    /// (<see cref="SegUids"/>), so the same result always gives the same instance; the PACS is asked whether it holds
    /// that instance already (QIDO-RS or C-FIND), and it is then left alone unless <c>force</c>; otherwise it is sent
    /// (STOW-RS or C-STORE) and the answer read, a refusal throwing an error that names the source.
    /// </summary>
    public abstract class SegStoreBase : ISegStore
    {
        private readonly bool _force;

        protected SegStoreBase(bool force) => _force = force;

        public abstract string Target { get; }

        public IReadOnlyList<string> Warnings { get; protected set; } = new List<string>();

        public MaskExportRecord Send(DicomSegBuilder seg, CancellationToken cancel = default)
        {
            var study = seg.Study;
            var bytes = seg.Encode();
            Warnings = new List<string>();
            bool exists = CheckAndSend(seg.SourceName, bytes, study, seg.Uids, out var storedAt, _force, cancel);
            bool sent = !exists || _force;
            return new MaskExportRecord
            {
                Path = seg.SourceName, Format = "dicom-seg", Classes = seg.Content.Segments.Count, Bytes = sent ? bytes.Length : 0,
                SopInstanceUid = seg.Uids.Instance, OutputPath = storedAt ?? Location(study, seg.Uids),
                Status = !sent ? OutputStatus.Exists : exists ? OutputStatus.Replaced : OutputStatus.Stored,
            };
        }

        /// <summary>Where the SEG is on the PACS (the record's OutputPath).</summary>
        protected abstract string Location(string study, SegUids uids);

        /// <summary>
        /// Asks the PACS whether it holds the SEG of <paramref name="source"/> and sends it unless it does (or when <paramref name="force"/>): throws when
        /// the PACS refuses it; sets <see cref="Warnings"/>, and <paramref name="storedAt"/> where the PACS names the stored
        /// instance's place (else null: the record's OutputPath is <see cref="Location"/>). Returns whether it was there.
        /// </summary>
        protected abstract bool CheckAndSend(string source, byte[] bytes, string study, SegUids uids, out string? storedAt, bool force, CancellationToken cancel);

        public virtual void Dispose() { }
    }
}
