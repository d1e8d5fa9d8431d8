using Cxas.Imaging;
using Cxas.Segmentation;

namespace Cxas.Dicom.Seg
{
    /// <summary>
    /// The DICOM Segmentation of a segmentation result: its source's identity, its non-empty chosen classes, the model as
    /// the algorithm (name, "Cxas" version, family Artificial Intelligence) and UIDs derived from the source instance and
    /// the model (<see cref="SegUids"/>), so the same result always gives the same SEG instance.
    /// </summary>
    public static class ResultSeg
    {
        /// <summary>The SEG of the non-empty ones of <paramref name="classes"/> of a result, ready to encode or send.</summary>
        public static DicomSegBuilder Build(SegmentationResult result, IReadOnlyList<int> classes, DateTime? contentTime = null)
        {
            var source = IdentityOf(result);
            var counts = result.Masks.PixelCounts;
            var present = classes.Where(c => counts[c] > 0).ToList();
            var algorithm = DicomSegBuilder.Named(result.Path,
                () => new AlgorithmIdentification(DicomSegBuilder.Truncate(result.Model, 64), "Cxas " + DicomSegBuilder.Version, DicomSegBuilder.ArtificialIntelligence));
            var uids = source.SopInstanceUid == null ? null : SegUids.For(source.SopInstanceUid, result.Model, result.ModelVersion);
            return new DicomSegBuilder(source, result.Masks, present, algorithm, uids, contentTime, result.Path);
        }

        /// <summary>
        /// The source's identity. Policy: a result decoded by <see cref="DicomImageReader"/> carries it
        /// (<see cref="SourceInfo.Dicom"/>, captured at decode time, and carried across a process boundary by
        /// <see cref="ResultTransfer"/>), and the source file is not opened again: it may have moved, changed or never
        /// existed (DICOMweb). Only a result built by hand without it is read again from its path; when that file is gone
        /// or differs, the error or the builder's size check says so.
        /// </summary>
        internal static DicomIdentity IdentityOf(SegmentationResult result)
        {
            if (!string.Equals(result.Source.Format, "DICOM", StringComparison.OrdinalIgnoreCase))
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"'{result.Path}' is a {result.Source.Format} image: it has no DICOM identity (patient, study, series, SOP instance) " +
                    "to derive a DICOM Segmentation from; choose another output type for it.", result.Path);
            return result.Source.Dicom ?? DicomIdentityReader.Read(DicomParser.ReadFile(result.Path), result.Source.RowSpacingMm, result.Source.ColumnSpacingMm);
        }
    }
}
