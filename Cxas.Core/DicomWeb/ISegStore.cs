using System.Threading;
using Cxas.Dicom.Seg;
using Cxas.Export;
using Cxas.Segmentation;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// Where Export-CxasMask stores DICOM-SEGs on a PACS: over DICOMweb (<see cref="DicomSegStore"/>, STOW-RS) or DIMSE
    /// (<see cref="Dimse.DimseSegStore"/>, C-STORE).
    /// </summary>
    public interface ISegStore : IDisposable
    {
        /// <summary>The PACS, for messages and ShouldProcess.</summary>
        string Target { get; }

        /// <summary>Stores the SEG of <paramref name="classes"/> of a result; status Stored, Replaced or Exists. Failures throw.</summary>
        MaskExportRecord Store(SegmentationResult result, IReadOnlyList<int> classes, CancellationToken cancel = default);

        /// <summary>The warnings of the last store, for the cmdlet to show.</summary>
        IReadOnlyList<string> Warnings { get; }
    }

    /// <summary>
    /// The idempotent store both protocols share: the SEG is built with UIDs derived from the source instance and the
    /// model (<see cref="SegUids"/>), so the same result always gives the same instance; the PACS is asked whether it holds
    /// that instance already (QIDO-RS or C-FIND), and it is then left alone unless <c>force</c>; otherwise it is sent
    /// (STOW-RS or C-STORE) and the answer read, a refusal throwing an error that names the source.
    /// </summary>
    public abstract class SegStoreBase : ISegStore
    {
        private readonly bool _force;

        protected SegStoreBase(bool force) => _force = force;

        public abstract string Target { get; }

        public IReadOnlyList<string> Warnings { get; protected set; } = new List<string>();

        public MaskExportRecord Store(SegmentationResult result, IReadOnlyList<int> classes, CancellationToken cancel = default)
        {
            var study = DicomSegWriter.StudyOf(result);
            var bytes = DicomSegWriter.Build(result, classes, out var uids, out int segments);
            Warnings = new List<string>();
            bool exists = CheckAndSend(result, bytes, study, uids, out var storedAt, _force, cancel);
            bool sent = !exists || _force;
            return new MaskExportRecord
            {
                Path = result.Path, Format = "dicom-seg", Classes = segments, Bytes = sent ? bytes.Length : 0, SopInstanceUid = uids.Instance,
                OutputPath = storedAt ?? Location(study, uids),
                Status = !sent ? OutputStatus.Exists : exists ? OutputStatus.Replaced : OutputStatus.Stored,
            };
        }

        /// <summary>Where the SEG is on the PACS (the record's OutputPath).</summary>
        protected abstract string Location(string study, SegUids uids);

        /// <summary>
        /// Asks the PACS whether it holds the SEG and sends it unless it does (or when <paramref name="force"/>): throws when
        /// the PACS refuses it; sets <see cref="Warnings"/>, and <paramref name="storedAt"/> where the PACS names the stored
        /// instance's place (else null: the record's OutputPath is <see cref="Location"/>). Returns whether it was there.
        /// </summary>
        protected abstract bool CheckAndSend(SegmentationResult result, byte[] bytes, string study, SegUids uids, out string? storedAt, bool force, CancellationToken cancel);

        public virtual void Dispose() { }
    }
}
