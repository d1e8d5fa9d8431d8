using System.Globalization;
using System.Reflection;
using Cxas.Imaging;
using Cxas.Masks;

namespace Cxas.Dicom.Seg
{
    /// <summary>
    /// One DICOM Segmentation (SOP class 1.2.840.10008.5.1.4.1.1.66.4), built from what it is made of, as highdicom's
    /// <c>Segmentation</c> is: the source's identity (<see cref="DicomIdentity"/>), the masks and the classes chosen as
    /// segments, the algorithm that made them, and the series and instance numbering (UIDs, numbers, content time).
    /// BINARY, one 1-bit frame per segment (frames packed back to back, bits continuous across frames, least significant
    /// bit first), segments numbered from 1 in the order the classes are given, SegmentLabel = class name, coding from
    /// <see cref="SegCoding"/>, SegmentAlgorithmType AUTOMATIC. Patient and study attributes are copied from the source;
    /// every frame references the source image (Derivation Image and Source Image Sequences) and the source series is
    /// listed in ReferencedSeriesSequence. No geometry is written: CR/DX images have no frame of reference, and the SEG
    /// claims none (no Pixel Measures, Plane Position or Plane Orientation).
    /// <para>Steps, in order: the constructor checks everything (the source's UIDs, its size against the masks', at
    /// least one segment, each chosen class present and non-empty, the segments as <see cref="SegmentationContent"/>,
    /// whose value objects refuse what DICOM does not allow), so a builder that exists can be encoded; then
    /// <see cref="WriteTo"/> fills one <see cref="DicomDataSetBuilder"/> module by module (PS3.3 A.51), which writes the
    /// elements in tag order whatever order they were added in. Encoding twice gives the same bytes.</para>
    /// </summary>
    public sealed class DicomSegBuilder
    {
        public const string SegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";

        /// <summary>Algorithm family (CID 7162).</summary>
        public static readonly CodedConcept ArtificialIntelligence = new CodedConcept("123110", "DCM", "Artificial Intelligence");
        private static readonly CodedConcept SourceForProcessing = new CodedConcept("121322", "DCM", "Source image for image processing operation");
        private static readonly CodedConcept SegmentationDerivation = new CodedConcept("113076", "DCM", "Segmentation");

        private readonly MaskSet _masks;
        private readonly IReadOnlyList<int> _classes;
        private readonly SourceReference _reference;

        /// <param name="source">The source's DICOM identity.</param>
        /// <param name="masks">The masks, at the source's size.</param>
        /// <param name="classes">The classes of <paramref name="masks"/> that become segments 1, 2, ..., each non-empty.</param>
        /// <param name="algorithm">The algorithm that made every segment.</param>
        /// <param name="uids">The SEG's UIDs (<see cref="SegUids.For(string, string, string)"/>); new random ones when null.</param>
        /// <param name="contentTime">ContentDate and ContentTime; now when null.</param>
        /// <param name="sourceName">The source's path or URI, named in messages.</param>
        /// <param name="seriesNumber">SeriesNumber.</param>
        /// <param name="instanceNumber">InstanceNumber.</param>
        public DicomSegBuilder(DicomIdentity source, MaskSet masks, IReadOnlyList<int> classes, AlgorithmIdentification algorithm,
            SegUids? uids = null, DateTime? contentTime = null, string? sourceName = null, int seriesNumber = 9001, int instanceNumber = 1)
        {
            var name = SourceName = sourceName ?? source?.SopInstanceUid ?? "the source";
            if (source == null) throw new ArgumentNullException(nameof(source));
            _masks = masks ?? throw new ArgumentNullException(nameof(masks));
            if (algorithm == null) throw new ArgumentNullException(nameof(algorithm));
            _reference = new SourceReference(source, name);
            if (source.Rows != masks.Height || source.Columns != masks.Width)
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"The masks are {masks.Width}x{masks.Height} but '{name}' is {source.Columns}x{source.Rows}.", name);
            if (classes == null || classes.Count == 0)
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"No class was found in '{name}': a DICOM Segmentation needs at least one non-empty segment, so none was written.", name);
            var seen = new HashSet<int>();
            foreach (var c in classes)
            {
                if (c < 0 || c >= masks.Count || !seen.Add(c))
                    throw new CxasException(CxasErrorKind.InvalidArgument,
                        $"The DICOM Segmentation of '{name}' cannot be written: class {c} is {(c < 0 || c >= masks.Count ? $"not one of the {masks.Count} classes" : "chosen twice")}.", name);
                if (masks.PixelCounts[c] == 0)
                    throw new CxasException(CxasErrorKind.InvalidArgument,
                        $"The DICOM Segmentation of '{name}' cannot be written: the mask of '{masks.Labels[c]}' is empty, and a segment must have pixels.", name);
            }
            _classes = classes.ToArray();
            if (seriesNumber < 0 || instanceNumber < 0)
                throw new CxasException(CxasErrorKind.InvalidArgument, "SeriesNumber and InstanceNumber (IS) must not be negative.", name);
            SeriesNumber = seriesNumber;
            InstanceNumber = instanceNumber;
            Content = Named(name, () => Describe(masks, _classes, algorithm));
            Uids = uids ?? SegUids.Random();
            ContentTime = contentTime ?? DateTime.Now;
        }

        /// <summary>Cxas' version (SoftwareVersions).</summary>
        internal static string Version =>
            typeof(DicomSegBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
            ?? typeof(DicomSegBuilder).Assembly.GetName().Version?.ToString() ?? "0";

        /// <summary>The source's path or URI, as messages and records name it.</summary>
        public string SourceName { get; }
        /// <summary>The source's study, which the SEG joins.</summary>
        public string Study => _reference.Study;
        public SegUids Uids { get; }
        internal SegmentationContent Content { get; }
        public DateTime ContentTime { get; }
        public int SeriesNumber { get; }
        public int InstanceNumber { get; }

        /// <summary>Runs a value object's checks, naming the source in what they refuse.</summary>
        internal static T Named<T>(string name, Func<T> build)
        {
            try
            {
                return build();
            }
            catch (CxasException ex) when (ex.FilePath == null)
            {
                throw new CxasException(ex.Kind, $"The DICOM Segmentation of '{name}' cannot be written: {ex.Message}", name, ex);
            }
        }

        /// <summary>The segments: one per class, numbered from 1, made AUTOMATICally by the algorithm.</summary>
        private static SegmentationContent Describe(MaskSet masks, IReadOnlyList<int> classes, AlgorithmIdentification algorithm)
        {
            var segments = new List<SegmentDescription>();
            foreach (var c in classes)
            {
                var label = masks.Labels[c];
                segments.Add(new SegmentDescription(segments.Count + 1, Truncate(label, 64), SegCoding.For(label), SegmentAlgorithmType.Automatic, algorithm));
            }
            return new SegmentationContent(segments, "CXAS", Truncate("Anatomy segmentation by " + algorithm.Name, 64));
        }

        /// <summary>The SEG as a Part 10 file (explicit VR little endian).</summary>
        public byte[] Encode()
        {
            var stream = new MemoryStream();
            WriteTo(stream);
            return stream.ToArray();
        }

        /// <summary>Writes the SEG as a Part 10 file to <paramref name="output"/>.</summary>
        public void WriteTo(Stream output)
        {
            var data = new DicomDataSetBuilder();
            _reference.AddPatientAndStudy(data);
            AddSeriesAndInstance(data);
            AddImage(data, _masks, Content.Segments.Count);
            AddSegments(data, Content);
            AddDimensions(data, Uids.Organisation);
            AddFrames(data, _reference, Content.Segments.Count);
            data.Bytes(Tags.PixelData, "OB", PackFrames(_masks, _classes));

            DicomDataSetBuilder.WritePart10(output, DicomDataSetBuilder.FileMeta(SegmentationStorage, Uids.Instance, TransferSyntaxes.ExplicitLittle), data);
        }

        /// <summary>SOP Common, General and Segmentation Series, General and Enhanced Equipment, and the private coding scheme.</summary>
        private void AddSeriesAndInstance(DicomDataSetBuilder data)
        {
            data.Text(Tags.SopClassUid, "UI", SegmentationStorage)
                .Text(Tags.SopInstanceUid, "UI", Uids.Instance)
                .Text(Tags.ContentDate, "DA", ContentTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture))
                .Text(Tags.ContentTime, "TM", ContentTime.ToString("HHmmss", CultureInfo.InvariantCulture))
                .Text(Tags.Modality, "CS", "SEG")
                .Text(Tags.Manufacturer, "LO", "Cxas")
                .Text(Tags.ManufacturerModelName, "LO", "Cxas")
                .Text(Tags.DeviceSerialNumber, "LO", "1")
                .Text(Tags.SoftwareVersions, "LO", Version)
                .Text(Tags.SeriesInstanceUid, "UI", Uids.Series)
                .IS(Tags.SeriesNumber, SeriesNumber)
                .IS(Tags.InstanceNumber, InstanceNumber);
            bool anyPrivate = false;
            foreach (var segment in Content.Segments) anyPrivate |= segment.Coding.IsPrivate;
            if (anyPrivate)
                data.Sequence(Tags.CodingSchemeIdentificationSequence, new DicomDataSetBuilder()
                    .Text(Tags.CodingSchemeDesignator, "SH", SegCoding.PrivateScheme)
                    .Text(Tags.CodingSchemeName, "ST", SegCoding.PrivateSchemeName)
                    .Text(Tags.CodingSchemeResponsibleOrganization, "ST", "Cxas project"));
        }

        /// <summary>Segmentation Image and Image Pixel: 1-bit MONOCHROME2 frames, one per segment.</summary>
        private static void AddImage(DicomDataSetBuilder data, MaskSet masks, int frames)
        {
            data.Text(Tags.ImageType, "CS", "DERIVED\\PRIMARY")
                .US(Tags.SamplesPerPixel, 1)
                .Text(Tags.PhotometricInterpretation, "CS", "MONOCHROME2")
                .IS(Tags.NumberOfFrames, frames)
                .US(Tags.Rows, masks.Height)
                .US(Tags.Columns, masks.Width)
                .US(Tags.BitsAllocated, 1)
                .US(Tags.BitsStored, 1)
                .US(Tags.HighBit, 0)
                .US(Tags.PixelRepresentation, 0)
                .Text(Tags.LossyImageCompression, "CS", "00")
                .Text(Tags.SegmentationType, "CS", "BINARY");
        }

        /// <summary>The Segment Sequence and the content labels.</summary>
        private static void AddSegments(DicomDataSetBuilder data, SegmentationContent content)
        {
            var items = new List<DicomDataSetBuilder>();
            foreach (var s in content.Segments)
            {
                var type = Code(s.Coding.Type);
                if (s.Coding.Modifier != null) type.Sequence(Tags.SegmentedPropertyTypeModifierCodeSequence, Code(s.Coding.Modifier));
                var item = new DicomDataSetBuilder()
                    .Sequence(Tags.SegmentedPropertyCategoryCodeSequence, Code(s.Coding.Category))
                    .US(Tags.SegmentNumber, s.Number)
                    .Text(Tags.SegmentLabel, "LO", s.Label)
                    .Text(Tags.SegmentAlgorithmType, "CS", s.AlgorithmTypeTerm)
                    .Sequence(Tags.SegmentedPropertyTypeCodeSequence, type);
                if (s.Algorithm != null)
                    item.Text(Tags.SegmentAlgorithmName, "LO", s.Algorithm.Name)
                        .Sequence(Tags.SegmentationAlgorithmIdentificationSequence, new DicomDataSetBuilder()
                            .Sequence(Tags.AlgorithmFamilyCodeSequence, Code(s.Algorithm.Family))
                            .Text(Tags.AlgorithmVersion, "LO", s.Algorithm.Version)
                            .Text(Tags.AlgorithmName, "LO", s.Algorithm.Name));
                items.Add(item);
            }
            data.Sequence(Tags.SegmentSequence, items)
                .Text(Tags.ContentLabel, "CS", content.Label)
                .Text(Tags.ContentDescription, "LO", content.Description)
                .Text(Tags.ContentCreatorName, "PN", "");
        }

        /// <summary>Multi-frame Dimension: frames are indexed by segment number only.</summary>
        private static void AddDimensions(DicomDataSetBuilder data, string organisation)
        {
            data.Sequence(Tags.DimensionOrganizationSequence, new DicomDataSetBuilder().Text(Tags.DimensionOrganizationUid, "UI", organisation))
                .Sequence(Tags.DimensionIndexSequence, new DicomDataSetBuilder()
                    .Text(Tags.DimensionOrganizationUid, "UI", organisation)
                    .AT(Tags.DimensionIndexPointer, Tags.ReferencedSegmentNumber)
                    .AT(Tags.FunctionalGroupPointer, Tags.SegmentIdentificationSequence)
                    .Text(Tags.DimensionDescriptionLabel, "LO", "Segment Number"));
        }

        /// <summary>
        /// The source image series (Common Instance Reference) and the functional groups: none shared; per frame, the
        /// source image it derives from, its dimension index and its segment.
        /// </summary>
        private static void AddFrames(DicomDataSetBuilder data, SourceReference reference, int frames)
        {
            data.Sequence(Tags.ReferencedSeriesSequence, new DicomDataSetBuilder()
                .Sequence(Tags.ReferencedInstanceSequence, reference.Instance())
                .Text(Tags.SeriesInstanceUid, "UI", reference.Series));
            var perFrame = new List<DicomDataSetBuilder>();
            for (int number = 1; number <= frames; number++)
            {
                var sourceImage = reference.Instance().Sequence(Tags.PurposeOfReferenceCodeSequence, Code(SourceForProcessing));
                if (reference.MultiFrame) sourceImage.IS(Tags.ReferencedFrameNumber, 1); // the frame that was segmented
                perFrame.Add(new DicomDataSetBuilder()
                    .Sequence(Tags.DerivationImageSequence, new DicomDataSetBuilder()
                        .Sequence(Tags.SourceImageSequence, sourceImage)
                        .Sequence(Tags.DerivationCodeSequence, Code(SegmentationDerivation)))
                    .Sequence(Tags.FrameContentSequence, new DicomDataSetBuilder().UL(Tags.DimensionIndexValues, (uint)number))
                    .Sequence(Tags.SegmentIdentificationSequence, new DicomDataSetBuilder().US(Tags.ReferencedSegmentNumber, number)));
            }
            data.Sequence(Tags.SharedFunctionalGroupsSequence, new DicomDataSetBuilder())
                .Sequence(Tags.PerFrameFunctionalGroupsSequence, perFrame);
        }

        /// <summary>A code sequence item.</summary>
        private static DicomDataSetBuilder Code(CodedConcept code) => new DicomDataSetBuilder()
            .Text(Tags.CodeValue, "SH", code.Value)
            .Text(Tags.CodingSchemeDesignator, "SH", code.Scheme)
            .Text(Tags.CodeMeaning, "LO", code.Meaning);

        /// <summary>Frames for the classes, one bit per pixel, bit k of the whole object at byte k/8, bit k%8 (LSB first).</summary>
        internal static byte[] PackFrames(MaskSet masks, IReadOnlyList<int> classes)
        {
            long frameBits = (long)masks.Width * masks.Height;
            long totalBits = frameBits * classes.Count;
            if ((totalBits + 7) / 8 > int.MaxValue - 16)
                throw new CxasException(CxasErrorKind.LimitExceeded, "The segmentation is too large for one DICOM object.");
            var bytes = new byte[(totalBits + 7) / 8];
            var row = new byte[masks.Width];
            for (int f = 0; f < classes.Count; f++)
                for (int y = 0; y < masks.Height; y++)
                {
                    masks.GetRow(classes[f], y, row);
                    long bit = f * frameBits + (long)y * masks.Width;
                    for (int x = 0; x < masks.Width; x++, bit++)
                        if (row[x] != 0) bytes[bit >> 3] |= (byte)(1 << (int)(bit & 7));
                }
            return bytes;
        }

        internal static string Truncate(string s, int n) => s.Length <= n ? s : s.Substring(0, n);
    }
}
