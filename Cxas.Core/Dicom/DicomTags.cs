namespace Cxas.Dicom
{
    /// <summary>
    /// Every tag this library reads or writes, by its PS3.6 keyword, as (group &lt;&lt; 16) | element. The parser, the
    /// image reader and the SEG writer name tags only through these constants, so a tag's number is written once.
    /// Grouped by module as PS3.3 lists them; within a group in ascending tag order.
    /// </summary>
    internal static class Tags
    {
        // File meta information (group 0002)
        public const uint FileMetaInformationGroupLength = 0x00020000;
        public const uint FileMetaInformationVersion = 0x00020001;
        public const uint MediaStorageSopClassUid = 0x00020002;
        public const uint MediaStorageSopInstanceUid = 0x00020003;
        public const uint TransferSyntaxUid = 0x00020010;
        public const uint ImplementationClassUid = 0x00020012;
        public const uint ImplementationVersionName = 0x00020013;

        // SOP common, general study, general series, general equipment
        public const uint SpecificCharacterSet = 0x00080005;
        public const uint ImageType = 0x00080008;
        public const uint SopClassUid = 0x00080016;
        public const uint SopInstanceUid = 0x00080018;
        public const uint StudyDate = 0x00080020;
        public const uint ContentDate = 0x00080023;
        public const uint StudyTime = 0x00080030;
        public const uint ContentTime = 0x00080033;
        public const uint AccessionNumber = 0x00080050;
        public const uint Modality = 0x00080060;
        public const uint Manufacturer = 0x00080070;
        public const uint ReferringPhysicianName = 0x00080090;
        public const uint SeriesDescription = 0x0008103E;
        public const uint CodeValue = 0x00080100;
        public const uint CodingSchemeDesignator = 0x00080102;
        public const uint CodeMeaning = 0x00080104;
        public const uint CodingSchemeIdentificationSequence = 0x00080110;
        public const uint CodingSchemeName = 0x00080115;
        public const uint CodingSchemeResponsibleOrganization = 0x00080116;
        public const uint ManufacturerModelName = 0x00081090;
        public const uint ReferencedSeriesSequence = 0x00081115;
        public const uint ReferencedInstanceSequence = 0x0008114A;
        public const uint ReferencedSopClassUid = 0x00081150;
        public const uint ReferencedSopInstanceUid = 0x00081155;
        public const uint ReferencedFrameNumber = 0x00081160;
        public const uint RetrieveUrl = 0x00081190;
        public const uint WarningReason = 0x00081196;
        public const uint FailureReason = 0x00081197;
        public const uint FailedSopSequence = 0x00081198;
        public const uint ReferencedSopSequence = 0x00081199;
        public const uint SourceImageSequence = 0x00082112;
        public const uint DerivationImageSequence = 0x00089124;
        public const uint DerivationCodeSequence = 0x00089215;

        // Patient and patient study
        public const uint PatientName = 0x00100010;
        public const uint PatientId = 0x00100020;
        public const uint PatientBirthDate = 0x00100030;
        public const uint PatientSex = 0x00100040;
        public const uint PatientAge = 0x00101010;
        public const uint PatientSize = 0x00101020;
        public const uint PatientWeight = 0x00101030;

        // Acquisition and equipment
        public const uint DeviceSerialNumber = 0x00181000;
        public const uint SoftwareVersions = 0x00181020;
        public const uint ImagerPixelSpacing = 0x00181164;
        public const uint ViewPosition = 0x00185101;

        // Relationship and dimensions
        public const uint StudyInstanceUid = 0x0020000D;
        public const uint SeriesInstanceUid = 0x0020000E;
        public const uint StudyId = 0x00200010;
        public const uint SeriesNumber = 0x00200011;
        public const uint InstanceNumber = 0x00200013;
        public const uint PatientOrientation = 0x00200020;
        public const uint FrameOfReferenceUid = 0x00200052;
        public const uint FrameContentSequence = 0x00209111;
        public const uint DimensionIndexValues = 0x00209157;
        public const uint DimensionOrganizationUid = 0x00209164;
        public const uint DimensionIndexPointer = 0x00209165;
        public const uint FunctionalGroupPointer = 0x00209167;
        public const uint DimensionOrganizationSequence = 0x00209221;
        public const uint DimensionIndexSequence = 0x00209222;
        public const uint DimensionDescriptionLabel = 0x00209421;

        // Image pixel and presentation
        public const uint SamplesPerPixel = 0x00280002;
        public const uint PhotometricInterpretation = 0x00280004;
        public const uint PlanarConfiguration = 0x00280006;
        public const uint NumberOfFrames = 0x00280008;
        public const uint Rows = 0x00280010;
        public const uint Columns = 0x00280011;
        public const uint PixelSpacing = 0x00280030;
        public const uint BitsAllocated = 0x00280100;
        public const uint BitsStored = 0x00280101;
        public const uint HighBit = 0x00280102;
        public const uint PixelRepresentation = 0x00280103;
        public const uint WindowCenter = 0x00281050;
        public const uint WindowWidth = 0x00281051;
        public const uint RescaleIntercept = 0x00281052;
        public const uint RescaleSlope = 0x00281053;
        public const uint VoiLutFunction = 0x00281056;
        public const uint LossyImageCompression = 0x00282110;
        public const uint ModalityLutSequence = 0x00283000;
        public const uint LutDescriptor = 0x00283002;
        public const uint LutData = 0x00283006;
        public const uint VoiLutSequence = 0x00283010;

        // Structured content and segmentation
        public const uint PurposeOfReferenceCodeSequence = 0x0040A170;
        public const uint SegmentationType = 0x00620001;
        public const uint SegmentSequence = 0x00620002;
        public const uint SegmentedPropertyCategoryCodeSequence = 0x00620003;
        public const uint SegmentNumber = 0x00620004;
        public const uint SegmentLabel = 0x00620005;
        public const uint SegmentationAlgorithmIdentificationSequence = 0x00620007;
        public const uint SegmentAlgorithmType = 0x00620008;
        public const uint SegmentAlgorithmName = 0x00620009;
        public const uint SegmentIdentificationSequence = 0x0062000A;
        public const uint ReferencedSegmentNumber = 0x0062000B;
        public const uint SegmentedPropertyTypeCodeSequence = 0x0062000F;
        public const uint SegmentedPropertyTypeModifierCodeSequence = 0x00620011;
        public const uint AlgorithmFamilyCodeSequence = 0x0066002F;
        public const uint AlgorithmVersion = 0x00660031;
        public const uint AlgorithmName = 0x00660036;
        public const uint ContentLabel = 0x00700080;
        public const uint ContentDescription = 0x00700081;
        public const uint ContentCreatorName = 0x00700084;
        public const uint PresentationLutShape = 0x20500020;
        public const uint SharedFunctionalGroupsSequence = 0x52009229;
        public const uint PerFrameFunctionalGroupsSequence = 0x52009230;

        // Pixel data and delimiters
        public const uint FloatPixelData = 0x7FE00008;
        public const uint DoubleFloatPixelData = 0x7FE00009;
        public const uint PixelData = 0x7FE00010;
        public const uint Item = 0xFFFEE000;
        public const uint ItemDelimitation = 0xFFFEE00D;
        public const uint SequenceDelimitation = 0xFFFEE0DD;
    }
}
