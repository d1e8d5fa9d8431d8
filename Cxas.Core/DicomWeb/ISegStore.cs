using System.Threading;
using Cxas.Export;
using Cxas.Segmentation;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// Where Export-CxasMask stores DICOM-SEGs on a PACS: over DICOMweb (<see cref="DicomSegStore"/>, STOW-RS) or DIMSE
    /// (<see cref="Dimse.DimseSegStore"/>, C-STORE). Both derive the SEG's UIDs and skip one the PACS already holds.
    /// </summary>
    public interface ISegStore : IDisposable
    {
        /// <summary>The PACS, for messages and ShouldProcess.</summary>
        string Target { get; }

        /// <summary>Stores the SEG of <paramref name="classes"/> of a result; status "Stored", "Replaced" or "Exists". Failures throw.</summary>
        MaskExportRecord Store(SegmentationResult result, IReadOnlyList<int> classes, CancellationToken cancel = default);

        /// <summary>The warnings of the last store, for the cmdlet to show.</summary>
        IReadOnlyList<string> Warnings { get; }
    }
}
