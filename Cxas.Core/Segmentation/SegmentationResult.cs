using Cxas.Imaging;
using Cxas.Masks;

namespace Cxas.Segmentation
{
    /// <summary>Pixel counts by class name (case-insensitive, read-only like the result); shown as "name=count; ..." for the classes present.</summary>
    public sealed class ClassPixelCounts : System.Collections.ObjectModel.ReadOnlyDictionary<string, long>
    {
        internal ClassPixelCounts(IReadOnlyList<string> labels, IReadOnlyList<long> counts) : base(ByLabel(labels, counts)) { }

        private static Dictionary<string, long> ByLabel(IReadOnlyList<string> labels, IReadOnlyList<long> counts)
        {
            var byLabel = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
            for (int i = 0; i < labels.Count; i++) byLabel[labels[i]] = counts[i];
            return byLabel;
        }

        public override string ToString() => string.Join("; ", this.Where(p => p.Value > 0).Select(p => $"{p.Key}={p.Value}"));
    }

    /// <summary>
    /// One image's segmentation: where it came from, which model and device, and every class's mask. Immutable, like its
    /// <see cref="SourceInfo"/>: what a cmdlet returns is what was decoded and segmented.
    /// Scalar properties are what tables and CSV exports show; <see cref="PixelCounts"/>
    /// is indexed by class name (case-insensitive); <see cref="GetMask(string)"/> gives one class at full resolution.
    /// </summary>
    public sealed class SegmentationResult
    {
        private readonly ClassPixelCounts _counts;
        private WeakReference<SourceImage>? _image;

        public SegmentationResult(SourceInfo source, int width, int height, string modelName, string modelDirectory,
            string device, MaskSet masks, TimeSpan decodeTime, TimeSpan inferenceTime, string modelVersion = "")
        {
            // The image: where it came from, its size, its masks and their counts.
            Source = source;
            Width = width;
            Height = height;
            Masks = masks;
            _counts = new ClassPixelCounts(masks.Labels, masks.PixelCounts);
            // How it was segmented, and how long that took.
            Model = modelName;
            ModelVersion = modelVersion ?? "";
            ModelDirectory = modelDirectory;
            Device = device;
            DecodeMs = Math.Round(decodeTime.TotalMilliseconds, 1);
            InferenceMs = Math.Round(inferenceTime.TotalMilliseconds, 1);
        }

        public string Path => Source.Path;
        public string FileName => System.IO.Path.GetFileName(Source.Path);
        /// <summary>File name without its extension: the name the reference's output layout uses.</summary>
        public string Stem => SourceInfo.IsRemote(Source.Path) ? FileName : System.IO.Path.GetFileNameWithoutExtension(Source.Path);
        public string Format => Source.Format;
        public int Width { get; }
        public int Height { get; }
        public string Model { get; }
        /// <summary>The model's version (from its manifest); part of the identity of the DICOM-SEG objects derived from this result.</summary>
        public string ModelVersion { get; }
        public string ModelDirectory { get; }
        public string Device { get; }
        public int ClassCount => Masks.Count;
        public int PresentCount => _counts.Values.Count(v => v > 0);
        /// <summary>Names of the classes found, in model order, joined with "; " (a CSV-friendly column).</summary>
        public string PresentLabels => string.Join("; ", Masks.Labels.Where(l => _counts[l] > 0));
        /// <summary>Full-resolution pixel count per class name (case-insensitive): <c>$r.PixelCounts['left lung']</c>.</summary>
        public ClassPixelCounts PixelCounts => _counts;

        /// <summary>Whether a class has any pixel.</summary>
        public bool IsPresent(string label) => _counts.TryGetValue(label, out var n) ? n > 0
            : throw new CxasException(CxasErrorKind.InvalidArgument, $"Label '{label}' is not one of this model's {Masks.Count} classes.");
        /// <summary>Time spent reading and decoding the file, in milliseconds.</summary>
        public double DecodeMs { get; }
        /// <summary>Time spent on resize, normalisation, inference and thresholding, in milliseconds.</summary>
        public double InferenceMs { get; }
        public SourceInfo Source { get; }
        public MaskSet Masks { get; }
        public double? RowSpacingMm => Source.RowSpacingMm;
        public double? ColumnSpacingMm => Source.ColumnSpacingMm;

        public BinaryMask GetMask(string label) => Masks.GetMask(label);

        /// <summary>
        /// The radiograph behind this result, for overlays and reports. Cache policy: a result does not keep its image alive
        /// (a 3000x2500 radiograph is 30 MB of grey floats, and a run may hold thousands of results), it holds it weakly.
        /// While the image is still in memory (an overlay or report in the same pipeline as the segmentation), it is
        /// reused and nothing is decoded or read; once it has been collected, or for a result that was never given one (a
        /// result that crossed a process boundary, see <see cref="ResultTransfer"/>, or one built by hand), it is decoded
        /// again from <see cref="Path"/>, and refused (InvalidData) when the file no longer has the size that was segmented.
        /// </summary>
        public SourceImage LoadSourceImage()
        {
            if (_image != null && _image.TryGetTarget(out var held)) return held;
            var image = ImageLoader.Load(Path);
            if (image.Width != Width || image.Height != Height)
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"'{Path}' is now {image.Width}x{image.Height}, not {Width}x{Height} as segmented.", Path);
            _image = new WeakReference<SourceImage>(image);
            return image;
        }

        /// <summary>Remembers (weakly) the decoded image this result was segmented from; see <see cref="LoadSourceImage"/>.</summary>
        internal void HoldImageWeakly(SourceImage image) => _image = new WeakReference<SourceImage>(image);

        public override string ToString() => $"{FileName}: {PresentCount}/{ClassCount} classes";
    }
}
