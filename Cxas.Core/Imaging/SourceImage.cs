
namespace Cxas.Imaging
{
    /// <summary>
    /// What is known about where an image came from: its format and, for DICOM, its identity and geometry. Immutable: a
    /// decoder builds it complete (everything but the path and format in an object initializer, which only this library
    /// can use), so a result's source never changes after decode.
    /// </summary>
    public sealed class SourceInfo
    {
        /// <summary>A source known by its path and format (e.g. a result built by hand); decoders add what they read.</summary>
        public SourceInfo(string path, string format)
        {
            Path = path ?? throw new ArgumentNullException(nameof(path));
            Format = format ?? "";
        }

        // The same source found at a place below a scanned folder: every other member is the original's.
        private SourceInfo(SourceInfo other, string? relativePath) : this(other.Path, other.Format)
        {
            RelativePath = relativePath;
            RowSpacingMm = other.RowSpacingMm;
            ColumnSpacingMm = other.ColumnSpacingMm;
            SpacingSource = other.SpacingSource;
            PatientId = other.PatientId;
            StudyInstanceUid = other.StudyInstanceUid;
            SeriesInstanceUid = other.SeriesInstanceUid;
            SopInstanceUid = other.SopInstanceUid;
            SopClassUid = other.SopClassUid;
            FrameOfReferenceUid = other.FrameOfReferenceUid;
            Modality = other.Modality;
            ViewPosition = other.ViewPosition;
            Warnings = other.Warnings;
            Dicom = other.Dicom;
        }

        public string Path { get; }
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
        public string? RelativePath { get; internal init; }
        /// <summary>"PNG", "JPEG", "DICOM", ...</summary>
        public string Format { get; }
        /// <summary>Row spacing (between rows) and column spacing in mm, when the source states them.</summary>
        public double? RowSpacingMm { get; internal init; }
        public double? ColumnSpacingMm { get; internal init; }
        /// <summary>The attribute the spacing came from (e.g. "PixelSpacing", "ImagerPixelSpacing"); null when unknown.</summary>
        public string? SpacingSource { get; internal init; }
        public string? PatientId { get; internal init; }
        public string? StudyInstanceUid { get; internal init; }
        public string? SeriesInstanceUid { get; internal init; }
        public string? SopInstanceUid { get; internal init; }
        public string? SopClassUid { get; internal init; }
        public string? FrameOfReferenceUid { get; internal init; }
        public string? Modality { get; internal init; }
        public string? ViewPosition { get; internal init; }
        /// <summary>Notes about decoding choices (e.g. "first frame of 3 used").</summary>
        public IReadOnlyList<string> Warnings { get; internal init; } = Array.Empty<string>();

        /// <summary>
        /// The DICOM identity (DICOM sources only), captured at decode time: what a DICOM Segmentation or another derived
        /// object of this source needs. It travels with the result, so a SEG can be made without the source file.
        /// </summary>
        public DicomIdentity? Dicom { get; internal init; }

        /// <summary>This source as found at <paramref name="relativePath"/> below a scanned folder (null: named on its own).</summary>
        internal SourceInfo WithRelativePath(string? relativePath) =>
            relativePath == RelativePath ? this : new SourceInfo(this, relativePath);

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
