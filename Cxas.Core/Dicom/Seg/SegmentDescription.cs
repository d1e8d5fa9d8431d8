
namespace Cxas.Dicom.Seg
{
    // The content of a DICOM Segmentation as value objects. Each checks its own rules when it is built (PS3.3 C.8.20.2 and
    // the VRs of PS3.5), so an object that exists can be written: a coded concept has a code value, scheme designator and
    // meaning within their VRs; a segment has a number from 1, a label, and an algorithm identification when an algorithm
    // made it; a segmentation's segments are numbered 1, 2, 3... in order. A broken rule is a CxasException
    // (InvalidArgument) that names the attribute.

    /// <summary>A coded concept: (code value, coding scheme designator, code meaning).</summary>
    public sealed class CodedConcept
    {
        public CodedConcept(string value, string scheme, string meaning)
        {
            Value = DicomVr.Require("CodeValue", "SH", value);
            Scheme = DicomVr.Require("CodingSchemeDesignator", "SH", scheme);
            Meaning = DicomVr.Require("CodeMeaning", "LO", meaning);
        }

        public string Value { get; }
        public string Scheme { get; }
        public string Meaning { get; }
        public override string ToString() => $"({Value}, {Scheme}, \"{Meaning}\")";
    }

    /// <summary>How one class is coded in a Segment Sequence item.</summary>
    internal sealed class SegmentCoding
    {
        public SegmentCoding(CodedConcept category, CodedConcept type, CodedConcept? modifier)
        {
            Category = category ?? throw Missing("SegmentedPropertyCategoryCodeSequence");
            Type = type ?? throw Missing("SegmentedPropertyTypeCodeSequence");
            Modifier = modifier;
        }

        public CodedConcept Category { get; }
        public CodedConcept Type { get; }
        /// <summary>Laterality (SegmentedPropertyTypeModifierCodeSequence), or null.</summary>
        public CodedConcept? Modifier { get; }
        public bool IsPrivate => Type.Scheme == SegCoding.PrivateScheme;

        internal static CxasException Missing(string attribute) =>
            new CxasException(CxasErrorKind.InvalidArgument, $"{attribute} is required in a segment.");
    }

    /// <summary>SegmentAlgorithmType: how a segment was made.</summary>
    internal enum SegmentAlgorithmType
    {
        Automatic,
        SemiAutomatic,
        Manual,
    }

    /// <summary>The algorithm that made a segment (SegmentationAlgorithmIdentificationSequence).</summary>
    public sealed class AlgorithmIdentification
    {
        public AlgorithmIdentification(string name, string version, CodedConcept family)
        {
            Name = DicomVr.Require("AlgorithmName", "LO", name);
            Version = DicomVr.Require("AlgorithmVersion", "LO", version);
            Family = family ?? throw SegmentCoding.Missing("AlgorithmFamilyCodeSequence");
        }

        public string Name { get; }
        public string Version { get; }
        /// <summary>Algorithm family (CID 7162), e.g. (123110, DCM, "Artificial Intelligence").</summary>
        public CodedConcept Family { get; }
    }

    /// <summary>One item of the Segment Sequence.</summary>
    internal sealed class SegmentDescription
    {
        public int Number { get; }
        public string Label { get; }
        public SegmentCoding Coding { get; }
        public SegmentAlgorithmType AlgorithmType { get; }
        /// <summary>Null only for MANUAL segments.</summary>
        public AlgorithmIdentification? Algorithm { get; }

        public SegmentDescription(int number, string label, SegmentCoding coding, SegmentAlgorithmType algorithmType,
            AlgorithmIdentification? algorithm)
        {
            if (number < 1 || number > ushort.MaxValue)
                throw new CxasException(CxasErrorKind.InvalidArgument, $"SegmentNumber (US) must lie in 1..65535; {number} was given.");
            Number = number;
            Label = DicomVr.Require($"SegmentLabel of segment {number}", "LO", label);
            Coding = coding ?? throw SegmentCoding.Missing("SegmentedPropertyTypeCodeSequence");
            AlgorithmType = algorithmType;
            Algorithm = algorithm ?? (algorithmType == SegmentAlgorithmType.Manual ? null : throw new CxasException(CxasErrorKind.InvalidArgument,
                $"Segment {number} ('{label}') is {AlgorithmTypeCode(algorithmType)}: its algorithm (name, version and family) must be identified."));
        }

        /// <summary>The defined term written in SegmentAlgorithmType.</summary>
        public string AlgorithmTypeTerm => AlgorithmTypeCode(AlgorithmType);

        private static string AlgorithmTypeCode(SegmentAlgorithmType type) =>
            type == SegmentAlgorithmType.Automatic ? "AUTOMATIC" : type == SegmentAlgorithmType.SemiAutomatic ? "SEMIAUTOMATIC" : "MANUAL";
    }

    /// <summary>The segments of one BINARY segmentation and how its content is labelled.</summary>
    internal sealed class SegmentationContent
    {
        public SegmentationContent(IReadOnlyList<SegmentDescription> segments, string label, string description)
        {
            if (segments == null || segments.Count == 0)
                throw new CxasException(CxasErrorKind.InvalidArgument, "A segmentation needs at least one segment.");
            for (int i = 0; i < segments.Count; i++)
                if (segments[i].Number != i + 1)
                    throw new CxasException(CxasErrorKind.InvalidArgument,
                        $"Segments must be numbered from 1 without gaps, in order: segment {i + 1} ('{segments[i].Label}') has number {segments[i].Number}.");
            Segments = segments;
            Label = DicomVr.Require("ContentLabel", "CS", label);
            Description = DicomVr.Require("ContentDescription", "LO", description);
        }

        public IReadOnlyList<SegmentDescription> Segments { get; }
        /// <summary>ContentLabel.</summary>
        public string Label { get; }
        /// <summary>ContentDescription.</summary>
        public string Description { get; }
    }
}
