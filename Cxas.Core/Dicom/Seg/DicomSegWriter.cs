using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Cxas.IO;
using Cxas.Masks;
using Cxas.Segmentation;

namespace Cxas.Dicom.Seg
{
    /// <summary>
    /// Writes one DICOM Segmentation (SOP class 1.2.840.10008.5.1.4.1.1.66.4) per source image: BINARY, one 1-bit frame per
    /// non-empty class (frames packed back to back, bits continuous across frames, least significant bit first), segments
    /// numbered from 1 in the order the classes are asked for, SegmentLabel = class name, coding from <see cref="SegCoding"/>,
    /// SegmentAlgorithmType AUTOMATIC with the model's name and Cxas' version. Patient and study attributes are copied from
    /// the source; every frame references the source image (Derivation Image and Source Image Sequences) and the source
    /// series is listed in ReferencedSeriesSequence. No geometry is written: CR/DX images have no frame of reference, and
    /// the SEG claims none (no Pixel Measures, Plane Position or Plane Orientation).
    /// <para>Steps, in order: the source's identity (<see cref="SegSource"/>: captured when the source was decoded, read again
    /// from its file only when a result does not carry it); the segments as <see cref="SegmentationContent"/>, whose value
    /// objects refuse what DICOM does not allow; then one <see cref="DicomDataSetBuilder"/> filled module by module (PS3.3
    /// A.51), which writes the elements in tag order whatever order they were added in.</para>
    /// </summary>
    internal static class DicomSegWriter
    {
        public const string SegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";

        /// <summary>Algorithm family (CID 7162).</summary>
        private static readonly CodedConcept ArtificialIntelligence = new CodedConcept("123110", "DCM", "Artificial Intelligence");
        private static readonly CodedConcept SourceForProcessing = new CodedConcept("121322", "DCM", "Source image for image processing operation");
        private static readonly CodedConcept SegmentationDerivation = new CodedConcept("113076", "DCM", "Segmentation");

        /// <summary>Projection radiography and secondary capture SOP classes whose instances hold a single frame.</summary>
        private static readonly HashSet<string> SingleFrameClasses = new HashSet<string>
        {
            "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.2",
            "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.1.3", "1.2.840.10008.5.1.4.1.1.1.3.1", "1.2.840.10008.5.1.4.1.1.7",
        };

        /// <summary>
        /// Writes the SEG of <paramref name="classes"/> (their non-empty ones) of a result to <paramref name="target"/>
        /// atomically; returns the number of segments written and the SEG's UIDs (null when random ones were drawn).
        /// </summary>
        public static int WriteFile(SegmentationResult result, string target, bool overwrite, IReadOnlyList<int> classes, out SegUids? uids)
        {
            var source = SourceOf(result);
            var present = Present(result, classes);
            var derived = SegUids.For(source, result);
            AtomicOutput.WriteFile(target, overwrite, stream => Write(stream, source, result.Masks, present, result.Model, DateTime.Now, derived));
            uids = derived;
            return present.Count;
        }

        /// <summary>
        /// The SEG of a result in memory (for STOW-RS), with its UIDs (derived from the source instance and the model, so
        /// the same result always gives the same instance) and the number of segments.
        /// </summary>
        public static byte[] Build(SegmentationResult result, IReadOnlyList<int> classes, out SegUids uids, out int segments) =>
            Build(result, classes, DateTime.Now, out uids, out segments);

        /// <summary><see cref="Build(SegmentationResult, IReadOnlyList{int}, out SegUids, out int)"/> with the content date and time given.</summary>
        internal static byte[] Build(SegmentationResult result, IReadOnlyList<int> classes, DateTime now, out SegUids uids, out int segments)
        {
            var source = SourceOf(result);
            var present = Present(result, classes);
            uids = SegUids.For(source, result)
                ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{result.Path}' has no SOP Instance UID: a DICOM Segmentation cannot reference it.", result.Path);
            var stream = new MemoryStream();
            Write(stream, source, result.Masks, present, result.Model, now, uids);
            segments = present.Count;
            return stream.ToArray();
        }

        /// <summary>The study the SEG of a result belongs to (its source's).</summary>
        public static string StudyOf(SegmentationResult result) =>
            SourceOf(result).StudyInstanceUid ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{result.Path}' has no Study Instance UID.", result.Path);

        /// <summary>
        /// The source's identity. Policy: a result decoded by <see cref="DicomImageReader"/> carries it
        /// (<see cref="Imaging.SourceInfo.Seg"/>, captured at decode time), and the source file is not opened again: it may
        /// have moved, changed or never existed (DICOMweb). Only a result without it is read again from its path: one built
        /// by hand, or one that crossed a process boundary (<see cref="ResultTransfer"/> carries the public SourceInfo, not
        /// the captured attributes); when that file is gone or differs, the error or the size check below says so.
        /// </summary>
        internal static SegSource SourceOf(SegmentationResult result)
        {
            if (!string.Equals(result.Source.Format, "DICOM", StringComparison.OrdinalIgnoreCase))
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"'{result.Path}' is a {result.Source.Format} image: it has no DICOM identity (patient, study, series, SOP instance) " +
                    "to derive a DICOM Segmentation from; choose another output type for it.", result.Path);
            return result.Source.Seg as SegSource ?? SegSource.From(DicomParser.ReadFile(result.Path));
        }


        private static List<int> Present(SegmentationResult result, IReadOnlyList<int> classes)
        {
            var present = new List<int>();
            var counts = result.Masks.PixelCounts;
            foreach (var c in classes) if (counts[c] > 0) present.Add(c);
            return present;
        }

        internal static string Version =>
            typeof(DicomSegWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
            ?? typeof(DicomSegWriter).Assembly.GetName().Version?.ToString() ?? "0";

        /// <summary>Writes the SEG for <paramref name="classes"/> (each must be non-empty) of <paramref name="masks"/>.</summary>
        internal static void Write(Stream output, SegSource source, MaskSet masks, IReadOnlyList<int> classes, string modelName, DateTime now,
            SegUids? uids = null)
        {
            var reference = new SourceReference(source);
            var path = source.Path;
            if (source.Rows != masks.Height || source.Columns != masks.Width)
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"The masks are {masks.Width}x{masks.Height} but '{path}' is {source.Columns}x{source.Rows}.", path);
            if (classes.Count == 0)
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"No class was found in '{path}': a DICOM Segmentation needs at least one non-empty segment, so none was written.", path);
            var content = Describe(masks, classes, modelName, path);
            string instance = uids?.Instance ?? DicomUid.New(), series = uids?.Series ?? DicomUid.New();
            string organisation = uids?.Organisation ?? DicomUid.New();

            var data = new DicomDataSetBuilder();
            AddPatientAndStudy(data, source, reference);
            AddSeriesAndInstance(data, instance, series, now, content);
            AddImage(data, masks, content.Segments.Count);
            AddSegments(data, content);
            AddDimensions(data, organisation);
            AddFrames(data, reference, content.Segments.Count);
            data.Bytes(Tags.PixelData, "OB", PackFrames(masks, classes));

            DicomDataSetBuilder.WritePart10(output, DicomDataSetBuilder.FileMeta(SegmentationStorage, instance, TransferSyntaxes.ExplicitLittle), data);
        }

        /// <summary>The segments: one per class, numbered from 1, made AUTOMATICally by the model.</summary>
        private static SegmentationContent Describe(MaskSet masks, IReadOnlyList<int> classes, string modelName, string path)
        {
            try
            {
                var algorithm = new AlgorithmIdentification(Truncate(modelName, 64), "Cxas " + Version, ArtificialIntelligence);
                var segments = new List<SegmentDescription>();
                foreach (var c in classes)
                {
                    var label = masks.Labels[c];
                    segments.Add(new SegmentDescription(segments.Count + 1, Truncate(label, 64), SegCoding.For(label), SegmentAlgorithmType.Automatic, algorithm));
                }
                return new SegmentationContent(segments, "CXAS", Truncate("Anatomy segmentation by " + modelName, 64));
            }
            catch (CxasException ex) when (ex.FilePath == null)
            {
                throw new CxasException(ex.Kind, $"The DICOM Segmentation of '{path}' cannot be written: {ex.Message}", path, ex);
            }
        }

        /// <summary>Patient, Patient Study and General Study: copied from the source.</summary>
        internal static void AddPatientAndStudy(DicomDataSetBuilder data, SegSource source, SourceReference reference)
        {
            foreach (var (tag, vr) in SegSource.Copied)
                if (tag != Tags.SpecificCharacterSet || source.Has(tag)) data.Bytes(tag, vr, source.Value(tag));
            // Patient Study attributes, when the source has them (dcentvfy compares them across the study's instances).
            // Only well-formed values are copied: a malformed one in the source must not make the SEG invalid.
            var age = source.PatientAge;
            if (age != null && Regex.IsMatch(age, "^[0-9]{3}[DWMY]$")) data.Text(Tags.PatientAge, "AS", age);
            foreach (var (tag, v) in new[] { (Tags.PatientSize, source.PatientSize), (Tags.PatientWeight, source.PatientWeight) })
            {
                if (v != null && v.Length <= 16 && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number > 0)
                    data.Text(tag, "DS", v);
            }
            data.Text(Tags.StudyInstanceUid, "UI", reference.Study);
        }

        /// <summary>SOP Common, General and Segmentation Series, General and Enhanced Equipment, and the private coding scheme.</summary>
        private static void AddSeriesAndInstance(DicomDataSetBuilder data, string instance, string series, DateTime now, SegmentationContent content)
        {
            data.Text(Tags.SopClassUid, "UI", SegmentationStorage)
                .Text(Tags.SopInstanceUid, "UI", instance)
                .Text(Tags.ContentDate, "DA", now.ToString("yyyyMMdd", CultureInfo.InvariantCulture))
                .Text(Tags.ContentTime, "TM", now.ToString("HHmmss", CultureInfo.InvariantCulture))
                .Text(Tags.Modality, "CS", "SEG")
                .Text(Tags.Manufacturer, "LO", "Cxas")
                .Text(Tags.ManufacturerModelName, "LO", "Cxas")
                .Text(Tags.DeviceSerialNumber, "LO", "1")
                .Text(Tags.SoftwareVersions, "LO", Version)
                .Text(Tags.SeriesInstanceUid, "UI", series)
                .IS(Tags.SeriesNumber, 9001)
                .IS(Tags.InstanceNumber, 1);
            bool anyPrivate = false;
            foreach (var segment in content.Segments) anyPrivate |= segment.Coding.IsPrivate;
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

        /// <summary>The source instance as the SEG references it; refuses a source without the UIDs a reference needs.</summary>
        internal sealed class SourceReference
        {
            public SourceReference(SegSource source)
            {
                var path = source.Path;
                SopClass = source.SopClassUid
                    ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no SOP Class UID: a DICOM Segmentation cannot reference it.", path);
                SopInstance = source.SopInstanceUid
                    ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no SOP Instance UID: a DICOM Segmentation cannot reference it.", path);
                Study = source.StudyInstanceUid ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no Study Instance UID.", path);
                Series = source.SeriesInstanceUid ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no Series Instance UID.", path);
                // Frame numbers are referenced only in instances of multi-frame SOP classes (a CR or DX instance is
                // single-frame by definition, whatever its NumberOfFrames says).
                MultiFrame = source.NumberOfFrames is double frames && frames > 1 && !SingleFrameClasses.Contains(SopClass);
            }

            public string SopClass { get; }
            public string SopInstance { get; }
            public string Study { get; }
            public string Series { get; }
            public bool MultiFrame { get; }

            /// <summary>A new (ReferencedSOPClassUID, ReferencedSOPInstanceUID) item.</summary>
            public DicomDataSetBuilder Instance() => new DicomDataSetBuilder()
                .Text(Tags.ReferencedSopClassUid, "UI", SopClass)
                .Text(Tags.ReferencedSopInstanceUid, "UI", SopInstance);
        }

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

        private static string Truncate(string s, int n) => s.Length <= n ? s : s.Substring(0, n);
    }
}
