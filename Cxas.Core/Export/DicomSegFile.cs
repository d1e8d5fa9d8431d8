using Cxas.Dicom.Seg;
using Cxas.Segmentation;

namespace Cxas.Export
{
    /// <summary>
    /// The dicom-seg output of <see cref="MaskExporter"/>: <see cref="DicomSegWriter"/> writes the file, this reports it.
    /// Export depends on Dicom.Seg and never the other way round.
    /// </summary>
    internal static class DicomSegFile
    {
        public static MaskExportRecord Export(SegmentationResult result, string target, bool overwrite, IReadOnlyList<int> classes)
        {
            int segments = DicomSegWriter.WriteFile(result, target, overwrite, classes, out var uids);
            return new MaskExportRecord
            {
                Path = result.Path, Format = "dicom-seg", OutputPath = target, Classes = segments, Bytes = new FileInfo(target).Length,
                SopInstanceUid = uids?.Instance,
            };
        }
    }
}
