
namespace Cxas.Imaging
{
    /// <summary>What is known about where an image came from: its format and, for DICOM, its identity and geometry.</summary>
    public sealed class SourceInfo
    {
        public string Path { get; set; } = "";
        /// <summary>
        /// Whether an input is a URI (a DICOMweb instance) rather than a file path. It lives with the source, below the
        /// results and the output plan that both ask it, so neither has to call the other.
        /// </summary>
        public static bool IsRemote(string input) =>
            input.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || input.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        /// <summary>
        /// The input's path below the folder it was found in ('/'-separated, file name last), or null when it was named
        /// on its own; output plans mirror it (see <c>Cxas.Export.OutputPlan</c>).
        /// </summary>
        public string? RelativePath { get; set; }
        /// <summary>"PNG", "JPEG", "DICOM", ...</summary>
        public string Format { get; set; } = "";
        /// <summary>Row spacing (between rows) and column spacing in mm, when the source states them.</summary>
        public double? RowSpacingMm { get; set; }
        public double? ColumnSpacingMm { get; set; }
        /// <summary>The attribute the spacing came from (e.g. "PixelSpacing", "ImagerPixelSpacing"); null when unknown.</summary>
        public string? SpacingSource { get; set; }
        public string? PatientId { get; set; }
        public string? StudyInstanceUid { get; set; }
        public string? SeriesInstanceUid { get; set; }
        public string? SopInstanceUid { get; set; }
        public string? SopClassUid { get; set; }
        public string? FrameOfReferenceUid { get; set; }
        public string? Modality { get; set; }
        public string? ViewPosition { get; set; }
        /// <summary>Notes about decoding choices (e.g. "first frame of 3 used").</summary>
        public List<string> Warnings { get; } = new List<string>();

        /// <summary>
        /// The DICOM identity (DICOM sources only), captured at decode time: what a DICOM Segmentation or another derived
        /// object of this source needs. It travels with the result, so a SEG can be made without the source file.
        /// </summary>
        public DicomIdentity? Dicom { get; set; }

        public override string ToString() => Format;
    }

    /// <summary>A decoded image and what is known about its source.</summary>
    public sealed class SourceImage
    {
        public SourceImage(ImageRaster raster, SourceInfo info)
        {
            Raster = raster ?? throw new ArgumentNullException(nameof(raster));
            Info = info ?? throw new ArgumentNullException(nameof(info));
        }

        public ImageRaster Raster { get; }
        public SourceInfo Info { get; }
        public int Width => Raster.Width;
        public int Height => Raster.Height;
    }
}
