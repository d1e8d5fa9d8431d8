using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Linq;
using Cxas.Export;
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
    /// </summary>
    public static class DicomSegWriter
    {
        public const string SegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4";

        /// <summary>Algorithm family (CID 7162).</summary>
        private static readonly CodedConcept ArtificialIntelligence = new CodedConcept("123110", "DCM", "Artificial Intelligence");

        /// <summary>Projection radiography and secondary capture SOP classes whose instances hold a single frame.</summary>
        private static readonly HashSet<string> SingleFrameClasses = new HashSet<string>
        {
            "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.2",
            "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.1.3", "1.2.840.10008.5.1.4.1.1.1.3.1", "1.2.840.10008.5.1.4.1.1.7",
        };

        /// <summary>The <see cref="MaskExporter"/> entry point: writes <paramref name="target"/> atomically.</summary>
        public static MaskExportRecord Export(SegmentationResult result, string target, bool overwrite, IReadOnlyList<int> classes)
        {
            var source = SourceOf(result);
            var present = Present(result, classes);
            var uids = SegUids.For(source, result);
            AtomicOutput.WriteFile(target, overwrite, stream =>
                Write(stream, source, result.Masks, present, result.Model, DateTime.Now, uids));
            return new MaskExportRecord
            {
                Path = result.Path, Format = "dicom-seg", OutputPath = target, Classes = present.Count, Bytes = new FileInfo(target).Length,
                SopInstanceUid = uids?.Instance,
            };
        }

        /// <summary>
        /// The SEG of a result in memory (for STOW-RS), with its UIDs (derived from the source instance and the model, so
        /// the same result always gives the same instance) and the number of segments.
        /// </summary>
        public static byte[] Build(SegmentationResult result, IReadOnlyList<int> classes, out SegUids uids, out int segments)
        {
            var source = SourceOf(result);
            var present = Present(result, classes);
            uids = SegUids.For(source, result)
                ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{result.Path}' has no SOP Instance UID: a DICOM Segmentation cannot reference it.", result.Path);
            var stream = new MemoryStream();
            Write(stream, source, result.Masks, present, result.Model, DateTime.Now, uids);
            segments = present.Count;
            return stream.ToArray();
        }

        /// <summary>The study the SEG of a result belongs to (its source's).</summary>
        public static string StudyOf(SegmentationResult result) =>
            SourceOf(result).StudyInstanceUid ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{result.Path}' has no Study Instance UID.", result.Path);

        private static SegSource SourceOf(SegmentationResult result)
        {
            if (!string.Equals(result.Source.Format, "DICOM", StringComparison.OrdinalIgnoreCase))
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"'{result.Path}' is a {result.Source.Format} image: it has no DICOM identity (patient, study, series, SOP instance) " +
                    $"to derive a DICOM Segmentation from. Choose another output type ({OtherFormats}) for it.", result.Path);
            // Results decoded by this version carry what the SEG needs; others (built by hand) are read again from their file.
            return result.Source.Seg as SegSource ?? SegSource.From(DicomParser.ReadFile(result.Path));
        }

        private static string OtherFormats => string.Join(", ", MaskWriters.All.Where(w => w.Format != MaskFormat.DicomSeg).Select(w => w.Name));

        private static List<int> Present(SegmentationResult result, IReadOnlyList<int> classes)
        {
            var present = new List<int>();
            var counts = result.Masks.PixelCounts;
            foreach (var c in classes) if (counts[c] > 0) present.Add(c);
            return present;
        }

        private static string Version =>
            typeof(DicomSegWriter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
            ?? typeof(DicomSegWriter).Assembly.GetName().Version?.ToString() ?? "0";

        /// <summary>Writes the SEG for <paramref name="classes"/> (each must be non-empty) of <paramref name="masks"/>.</summary>
        internal static void Write(Stream output, SegSource source, MaskSet masks, IReadOnlyList<int> classes, string modelName, DateTime now,
            SegUids? uids = null)
        {
            var path = source.Path;
            string sourceClass = source.SopClassUid
                ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no SOP Class UID: a DICOM Segmentation cannot reference it.", path);
            string sourceInstance = source.SopInstanceUid
                ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no SOP Instance UID: a DICOM Segmentation cannot reference it.", path);
            string study = source.StudyInstanceUid ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no Study Instance UID.", path);
            string sourceSeries = source.SeriesInstanceUid ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' has no Series Instance UID.", path);
            int rows = source.Rows, cols = source.Columns;
            if (rows != masks.Height || cols != masks.Width)
                throw new CxasException(CxasErrorKind.InvalidArgument, $"The masks are {masks.Width}x{masks.Height} but '{path}' is {cols}x{rows}.", path);
            if (classes.Count == 0)
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"No class was found in '{path}': a DICOM Segmentation needs at least one non-empty segment, so none was written.", path);

            var sourceFrames = source.NumberOfFrames;
            // Frame numbers are referenced only in instances of multi-frame SOP classes (a CR or DX instance is single-frame by
            // definition, whatever its NumberOfFrames says).
            bool multiFrameSource = sourceFrames.HasValue && sourceFrames.Value > 1 && !SingleFrameClasses.Contains(sourceClass);
            string instance = uids?.Instance ?? DicomUid.New(), series = uids?.Series ?? DicomUid.New();
            string organisation = uids?.Organisation ?? DicomUid.New();
            string date = now.ToString("yyyyMMdd", CultureInfo.InvariantCulture), time = now.ToString("HHmmss", CultureInfo.InvariantCulture);
            var codings = new List<SegmentCoding>();
            bool anyPrivate = false;
            foreach (var c in classes)
            {
                var coding = SegCoding.For(masks.Labels[c]);
                codings.Add(coding);
                anyPrivate |= coding.IsPrivate;
            }

            // File meta information, with its group length.
            var meta = new MemoryStream();
            var m = new DicomWriter(meta);
            m.Bytes(0x00020001, "OB", new byte[] { 0, 1 });
            m.Text(0x00020002, "UI", SegmentationStorage);
            m.Text(0x00020003, "UI", instance);
            m.Text(0x00020010, "UI", TransferSyntaxes.ExplicitLittle);
            m.Text(0x00020012, "UI", DicomUid.ImplementationClass);
            m.Text(0x00020013, "SH", DicomUid.ImplementationVersion);
            output.Write(new byte[128], 0, 128);
            output.Write(new[] { (byte)'D', (byte)'I', (byte)'C', (byte)'M' }, 0, 4);
            var w = new DicomWriter(output);
            w.UL(0x00020000, (uint)meta.Length);
            meta.Position = 0;
            meta.CopyTo(output);

            void Copy(uint tag, string vr)
            {
                var value = source.Value(tag);
                w.Bytes(tag, vr, value, 0, value.Length);
            }

            if (source.Has(Tags.SpecificCharacterSet)) Copy(Tags.SpecificCharacterSet, "CS");
            w.Text(Tags.ImageType, "CS", "DERIVED\\PRIMARY");
            w.Text(Tags.SopClassUid, "UI", SegmentationStorage);
            w.Text(Tags.SopInstanceUid, "UI", instance);
            Copy(Tags.StudyDate, "DA");
            w.Text(0x00080023, "DA", date); // ContentDate
            Copy(Tags.StudyTime, "TM");
            w.Text(0x00080033, "TM", time); // ContentTime
            Copy(Tags.AccessionNumber, "SH");
            w.Text(Tags.Modality, "CS", "SEG");
            w.Text(Tags.Manufacturer, "LO", "Cxas");
            Copy(Tags.ReferringPhysicianName, "PN");
            if (anyPrivate)
            {
                w.BeginSequence(0x00080110); // CodingSchemeIdentificationSequence
                w.BeginItem();
                w.Text(0x00080102, "SH", SegCoding.PrivateScheme);
                w.Text(0x00080115, "ST", SegCoding.PrivateSchemeName); // CodingSchemeName
                w.Text(0x00080116, "ST", "Cxas project"); // CodingSchemeResponsibleOrganization
                w.EndItem();
                w.EndSequence();
            }
            w.Text(0x00081090, "LO", "Cxas"); // ManufacturerModelName
            w.BeginSequence(0x00081115); // ReferencedSeriesSequence
            w.BeginItem();
            w.BeginSequence(0x0008114A); // ReferencedInstanceSequence
            w.BeginItem();
            w.Text(0x00081150, "UI", sourceClass);
            w.Text(0x00081155, "UI", sourceInstance);
            w.EndItem();
            w.EndSequence();
            w.Text(Tags.SeriesInstanceUid, "UI", sourceSeries);
            w.EndItem();
            w.EndSequence();
            Copy(Tags.PatientName, "PN");
            Copy(Tags.PatientId, "LO");
            Copy(Tags.PatientBirthDate, "DA");
            Copy(Tags.PatientSex, "CS");
            // Patient Study attributes, when the source has them (dcentvfy compares them across the study's instances).
            // Only well-formed values are copied: a malformed one in the source must not make the SEG invalid.
            var age = source.PatientAge;
            if (age != null && System.Text.RegularExpressions.Regex.IsMatch(age, "^[0-9]{3}[DWMY]$")) w.Text(0x00101010, "AS", age); // PatientAge
            foreach (var (tag, v) in new[] { (0x00101020u, source.PatientSize), (0x00101030u, source.PatientWeight) })
            {
                if (v != null && v.Length <= 16 && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number > 0)
                    w.Text(tag, "DS", v);
            }
            w.Text(0x00181000, "LO", "1"); // DeviceSerialNumber
            w.Text(0x00181020, "LO", Version); // SoftwareVersions
            w.Text(Tags.StudyInstanceUid, "UI", study);
            w.Text(Tags.SeriesInstanceUid, "UI", series);
            Copy(Tags.StudyId, "SH");
            w.IS(0x00200011, 9001); // SeriesNumber
            w.IS(0x00200013, 1); // InstanceNumber
            Copy(0x00200020, "CS"); // PatientOrientation (Type 2C without a frame of reference): the source's, or empty

            w.BeginSequence(0x00209221); // DimensionOrganizationSequence
            w.BeginItem();
            w.Text(0x00209164, "UI", organisation);
            w.EndItem();
            w.EndSequence();
            w.BeginSequence(0x00209222); // DimensionIndexSequence: frames are indexed by segment number only
            w.BeginItem();
            w.Text(0x00209164, "UI", organisation);
            w.AT(0x00209165, 0x0062000B); // DimensionIndexPointer: ReferencedSegmentNumber
            w.AT(0x00209167, 0x0062000A); // FunctionalGroupPointer: SegmentIdentificationSequence
            w.Text(0x00209421, "LO", "Segment Number");
            w.EndItem();
            w.EndSequence();

            w.US(Tags.SamplesPerPixel, 1);
            w.Text(Tags.PhotometricInterpretation, "CS", "MONOCHROME2");
            w.IS(Tags.NumberOfFrames, classes.Count);
            w.US(Tags.Rows, rows);
            w.US(Tags.Columns, cols);
            w.US(Tags.BitsAllocated, 1);
            w.US(Tags.BitsStored, 1);
            w.US(Tags.HighBit, 0);
            w.US(Tags.PixelRepresentation, 0);
            w.Text(0x00282110, "CS", "00"); // LossyImageCompression

            w.Text(0x00620001, "CS", "BINARY");
            w.BeginSequence(0x00620002); // SegmentSequence
            for (int i = 0; i < classes.Count; i++)
            {
                var coding = codings[i];
                w.BeginItem();
                w.CodeSequence(0x00620003, coding.Category);
                w.US(0x00620004, i + 1);
                w.Text(0x00620005, "LO", Truncate(masks.Labels[classes[i]], 64));
                w.BeginSequence(0x00620007); // SegmentationAlgorithmIdentificationSequence
                w.BeginItem();
                w.CodeSequence(0x0066002F, ArtificialIntelligence); // AlgorithmFamilyCodeSequence
                w.Text(0x00660031, "LO", "Cxas " + Version); // AlgorithmVersion
                w.Text(0x00660036, "LO", Truncate(modelName, 64)); // AlgorithmName
                w.EndItem();
                w.EndSequence();
                w.Text(0x00620008, "CS", "AUTOMATIC");
                w.Text(0x00620009, "LO", Truncate(modelName, 64));
                w.CodeSequence(0x0062000F, coding.Type, coding.Modifier == null ? (Action?)null : () => w.CodeSequence(0x00620011, coding.Modifier));
                w.EndItem();
            }
            w.EndSequence();
            w.Text(0x00700080, "CS", "CXAS"); // ContentLabel
            w.Text(0x00700081, "LO", Truncate("Anatomy segmentation by " + modelName, 64)); // ContentDescription
            w.Text(0x00700084, "PN", ""); // ContentCreatorName

            w.BeginSequence(0x52009229); // SharedFunctionalGroupsSequence
            w.BeginItem();
            w.EndItem();
            w.EndSequence();
            w.BeginSequence(0x52009230); // PerFrameFunctionalGroupsSequence
            for (int i = 0; i < classes.Count; i++)
            {
                w.BeginItem();
                w.BeginSequence(0x00089124); // DerivationImageSequence
                w.BeginItem();
                w.BeginSequence(0x00082112); // SourceImageSequence
                w.BeginItem();
                w.Text(0x00081150, "UI", sourceClass);
                w.Text(0x00081155, "UI", sourceInstance);
                if (multiFrameSource) w.IS(0x00081160, 1); // ReferencedFrameNumber: the frame that was segmented
                w.CodeSequence(0x0040A170, new CodedConcept("121322", "DCM", "Source image for image processing operation"));
                w.EndItem();
                w.EndSequence();
                w.CodeSequence(0x00089215, new CodedConcept("113076", "DCM", "Segmentation"));
                w.EndItem();
                w.EndSequence();
                w.BeginSequence(0x00209111); // FrameContentSequence
                w.BeginItem();
                w.UL(0x00209157, (uint)(i + 1)); // DimensionIndexValues
                w.EndItem();
                w.EndSequence();
                w.BeginSequence(0x0062000A); // SegmentIdentificationSequence
                w.BeginItem();
                w.US(0x0062000B, i + 1);
                w.EndItem();
                w.EndSequence();
                w.EndItem();
            }
            w.EndSequence();

            var pixels = PackFrames(masks, classes);
            w.Bytes(Tags.PixelData, "OB", pixels);
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
