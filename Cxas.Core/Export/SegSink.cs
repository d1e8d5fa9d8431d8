using System.Threading;
using Cxas.Dicom.Seg;
using Cxas.IO;
using Cxas.Segmentation;

namespace Cxas.Export
{
    /// <summary>
    /// Where a DICOM-SEG goes: a file (<see cref="SegFileDestination"/>) or a PACS store (<c>Cxas.DicomWeb.ISegStore</c>:
    /// DICOMweb STOW-RS or DIMSE C-STORE). A destination takes a built SEG (<see cref="DicomSegBuilder"/>) and reports
    /// what it did as a record; it never builds one itself.
    /// </summary>
    public interface ISegDestination : IDisposable
    {
        /// <summary>The file or PACS, for messages and ShouldProcess.</summary>
        string Target { get; }

        /// <summary>Sends the SEG; the record's status is Written for a file, Stored, Replaced or Exists for a store. Failures throw.</summary>
        MaskExportRecord Send(DicomSegBuilder seg, CancellationToken cancel = default);

        /// <summary>The warnings of the last send, for the cmdlet to show.</summary>
        IReadOnlyList<string> Warnings { get; }
    }

    /// <summary>
    /// The one way a result's DICOM-SEG leaves Cxas: built once from the result (<see cref="ResultSeg"/>), then handed to
    /// its destination. The dicom-seg mask writer sends it to a file, Export-CxasMask -DicomWebUri/-ComputerName to a store.
    /// </summary>
    public static class SegSink
    {
        public static MaskExportRecord Send(SegmentationResult result, IReadOnlyList<int> classes, ISegDestination destination, CancellationToken cancel = default) =>
            destination.Send(ResultSeg.Build(result, classes), cancel);
    }

    /// <summary>A SEG file, written atomically; an existing file is replaced only when <c>overwrite</c>.</summary>
    public sealed class SegFileDestination : ISegDestination
    {
        private readonly bool _overwrite;

        public SegFileDestination(string path, bool overwrite)
        {
            Target = path ?? throw new ArgumentNullException(nameof(path));
            _overwrite = overwrite;
        }

        public string Target { get; }

        public IReadOnlyList<string> Warnings { get; } = Array.Empty<string>();

        public MaskExportRecord Send(DicomSegBuilder seg, CancellationToken cancel = default)
        {
            cancel.ThrowIfCancellationRequested();
            AtomicOutput.WriteFile(Target, _overwrite, seg.WriteTo);
            return new MaskExportRecord
            {
                Path = seg.SourceName, Format = "dicom-seg", OutputPath = Target, Classes = seg.Content.Segments.Count,
                Bytes = new FileInfo(Target).Length, SopInstanceUid = seg.Uids.Instance,
            };
        }

        public void Dispose() { }
    }
}
