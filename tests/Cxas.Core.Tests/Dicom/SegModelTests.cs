using Cxas.Dicom;
using Cxas.Dicom.Seg;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// The SEG value objects refuse what PS3.3/PS3.5 forbid when they are built, each with an error naming the attribute;
    /// the data-set builder writes elements in tag order whatever order they were added in (read back by a walker of the
    /// written bytes, not by asking the builder).
    /// </summary>
    public sealed class SegModelTests
    {
        private static readonly CodedConcept Lung = new CodedConcept("39607008", "SCT", "Lung");
        private static readonly SegmentCoding LungCoding = new SegmentCoding(SegCoding.AnatomicalStructure, Lung, null);
        private static readonly AlgorithmIdentification Algorithm =
            new AlgorithmIdentification("UNet_ResNet50_default", "Cxas 0.1.0", new CodedConcept("123110", "DCM", "Artificial Intelligence"));

        private static SegmentDescription Segment(int number, string label = "lung") =>
            new SegmentDescription(number, label, LungCoding, SegmentAlgorithmType.Automatic, Algorithm);

        private static void Refused(Action build, params string[] reason)
        {
            var ex = Assert.Throws<CxasException>(build);
            Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
            foreach (var part in reason) Assert.Contains(part, ex.Message);
        }

        [Theory]
        [InlineData(0)]
        [InlineData(-1)]
        [InlineData(65536)]
        public void SegmentNumbersOutsideOneTo65535AreRefused(int number) =>
            Refused(() => Segment(number), "SegmentNumber", number.ToString(System.Globalization.CultureInfo.InvariantCulture));

        [Fact]
        public void SegmentsMustBeNumberedFromOneWithoutGaps()
        {
            Refused(() => new SegmentationContent(new[] { Segment(2), Segment(3) }, "CXAS", "d"), "numbered from 1", "segment 1", "has number 2");
            Refused(() => new SegmentationContent(new[] { Segment(1), Segment(3) }, "CXAS", "d"), "segment 2", "has number 3");
            Refused(() => new SegmentationContent(new[] { Segment(2), Segment(1) }, "CXAS", "d"), "segment 1", "has number 2");
            Refused(() => new SegmentationContent(Array.Empty<SegmentDescription>(), "CXAS", "d"), "at least one segment");
            var ok = new SegmentationContent(new[] { Segment(1), Segment(2, "heart") }, "CXAS", "d");
            Assert.Equal(new[] { 1, 2 }, ok.Segments.Select(s => s.Number));
        }

        [Theory]
        [InlineData(SegmentAlgorithmType.Automatic, "AUTOMATIC")]
        [InlineData(SegmentAlgorithmType.SemiAutomatic, "SEMIAUTOMATIC")]
        internal void AlgorithmMadeSegmentsWithoutAlgorithmIdentificationAreRefused(SegmentAlgorithmType type, string term)
        {
            Refused(() => new SegmentDescription(1, "lung", LungCoding, type, null), "Segment 1", term, "algorithm (name, version and family)");
            Assert.Equal(term, new SegmentDescription(1, "lung", LungCoding, type, Algorithm).AlgorithmTypeTerm);
            Assert.Null(new SegmentDescription(1, "lung", LungCoding, SegmentAlgorithmType.Manual, null).Algorithm);
        }

        [Fact]
        public void AlgorithmIdentificationNeedsNameVersionAndFamily()
        {
            var family = new CodedConcept("123110", "DCM", "Artificial Intelligence");
            Refused(() => new AlgorithmIdentification("", "1", family), "AlgorithmName (LO) must not be empty");
            Refused(() => new AlgorithmIdentification("m", " ", family), "AlgorithmVersion (LO) must not be empty");
            Refused(() => new AlgorithmIdentification("m", "1", null!), "AlgorithmFamilyCodeSequence");
            Refused(() => new AlgorithmIdentification(new string('m', 65), "1", family), "AlgorithmName (LO)", "65 characters", "at most 64");
        }

        [Fact]
        public void CodedConceptsMustBeCompleteAndWithinTheirVrs()
        {
            Refused(() => new CodedConcept("39607008", "SCT", ""), "CodeMeaning (LO) must not be empty");
            Refused(() => new CodedConcept("", "SCT", "Lung"), "CodeValue (SH) must not be empty");
            Refused(() => new CodedConcept("39607008", null!, "Lung"), "CodingSchemeDesignator (SH) must not be empty");
            Refused(() => new CodedConcept("12345678901234567", "SCT", "Lung"), "CodeValue (SH)", "17 characters", "at most 16");
            Refused(() => new CodedConcept("1", "SCT", new string('x', 65)), "CodeMeaning (LO)", "at most 64");
            Refused(() => new CodedConcept("1", "S\\CT", "Lung"), "CodingSchemeDesignator", "backslash");
            Refused(() => new CodedConcept("1", "SCT", "Lu\nng"), "CodeMeaning", "control characters");
            Refused(() => new SegmentCoding(SegCoding.AnatomicalStructure, null!, null), "SegmentedPropertyTypeCodeSequence");
            Refused(() => new SegmentCoding(null!, Lung, null), "SegmentedPropertyCategoryCodeSequence");
        }

        [Fact]
        public void LabelsFollowTheirVrs()
        {
            Refused(() => Segment(1, ""), "SegmentLabel of segment 1 (LO) must not be empty");
            Refused(() => Segment(4, new string('a', 65)), "SegmentLabel of segment 4 (LO)", "at most 64");
            Refused(() => Segment(1, "left\\right"), "SegmentLabel", "backslash");
            Refused(() => new SegmentationContent(new[] { Segment(1) }, "cxas", "d"), "ContentLabel (CS)", "upper-case");
            Refused(() => new SegmentationContent(new[] { Segment(1) }, "CXAS-1", "d"), "ContentLabel (CS)");
            Refused(() => new SegmentationContent(new[] { Segment(1) }, "ABCDEFGHIJKLMNOPQ", "d"), "ContentLabel (CS)", "at most 16");
            Refused(() => new SegmentationContent(new[] { Segment(1) }, "CXAS", ""), "ContentDescription (LO) must not be empty");
        }

        [Fact]
        public void WriterRefusesAClassItCannotLabelNamingTheSource()
        {
            var masks = new MaskSet(new[] { "lung", "left\\right" }, 4, 4, 4, 4);
            masks.SetGridBit(0, 1, 1, true);
            masks.SetGridBit(1, 2, 2, true);
            var dir = Path.Combine(Path.GetTempPath(), "cxas-seg-model-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            Directory.CreateDirectory(dir);
            try
            {
                var path = Path.Combine(dir, "src.dcm");
                SyntheticDicom.Write(path, SyntheticDicom.Image(4, 4, 12, 1), new SyntheticDicom.Options { Rows = 4, Columns = 4 });
                var source = ImageLoader.Load(path).Info.Dicom!;
                var algorithm = new AlgorithmIdentification("model", "1", DicomSegBuilder.ArtificialIntelligence);
                var ex = Assert.Throws<CxasException>(() => new DicomSegBuilder(source, masks, new[] { 0, 1 }, algorithm, sourceName: path));
                Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
                Assert.Equal(path, ex.FilePath);
                Assert.Contains(path, ex.Message);
                Assert.Contains("backslash", ex.Message);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void BuilderWritesTagsInAscendingOrderWhateverTheOrderOfAdding()
        {
            var item = new DicomDataSetBuilder()
                .US(Tags.SegmentNumber, 1)
                .Text(Tags.CodeMeaning, "LO", "Lung")
                .Text(Tags.CodeValue, "SH", "39607008")
                .Sequence(Tags.SegmentedPropertyTypeModifierCodeSequence, new DicomDataSetBuilder().Text(Tags.CodingSchemeDesignator, "SH", "SCT").Text(Tags.CodeValue, "SH", "1"));
            var data = new DicomDataSetBuilder()
                .Bytes(Tags.PixelData, "OB", new byte[] { 1, 2, 3 })
                .Text(Tags.SopInstanceUid, "UI", "1.2.3")
                .Sequence(Tags.SegmentSequence, item, new DicomDataSetBuilder().Text(Tags.SegmentLabel, "LO", "b").US(Tags.SegmentNumber, 2))
                .US(Tags.Rows, 4)
                .Text(Tags.PatientName, "PN", "A^B")
                .Text(Tags.SpecificCharacterSet, "CS", "ISO_IR 100")
                .AT(Tags.DimensionIndexPointer, Tags.ReferencedSegmentNumber);
            var meta = new DicomDataSetBuilder()
                .Text(Tags.TransferSyntaxUid, "UI", TransferSyntaxes.ExplicitLittle)
                .Text(Tags.MediaStorageSopClassUid, "UI", DicomSegBuilder.SegmentationStorage);
            var output = new MemoryStream();
            DicomDataSetBuilder.WritePart10(output, meta, data);

            var sets = ElementWalker.DataSets(output.ToArray());
            Assert.All(sets, tags => Assert.Equal(tags.OrderBy(t => t), tags));
            Assert.Equal(new uint[]
            {
                Tags.FileMetaInformationGroupLength, Tags.MediaStorageSopClassUid, Tags.TransferSyntaxUid, Tags.SpecificCharacterSet,
                Tags.SopInstanceUid, Tags.PatientName, Tags.DimensionIndexPointer, Tags.Rows, Tags.SegmentSequence, Tags.PixelData,
            }, sets[0]);
            Assert.Contains(sets, s => s.SequenceEqual(new[] { Tags.CodeValue, Tags.CodeMeaning, Tags.SegmentNumber, Tags.SegmentedPropertyTypeModifierCodeSequence }));
            Assert.Contains(sets, s => s.SequenceEqual(new[] { Tags.CodeValue, Tags.CodingSchemeDesignator }));
            Assert.Contains(sets, s => s.SequenceEqual(new[] { Tags.SegmentNumber, Tags.SegmentLabel }));
            // The parser reads it back whole.
            var parsed = DicomParser.Parse("built.dcm", output.ToArray()).Dataset;
            Assert.Equal(2, parsed.Get(Tags.SegmentSequence)!.Items!.Count);
            Assert.Equal("A^B", parsed.GetString(Tags.PatientName));
        }

        [Fact]
        public void BuilderRefusesATagAddedTwice()
        {
            var data = new DicomDataSetBuilder().US(Tags.Rows, 1);
            var ex = Assert.Throws<ArgumentException>(() => data.US(Tags.Rows, 2));
            Assert.Contains("(0028,0010)", ex.Message);
        }

        /// <summary>
        /// Walks explicit VR little endian Part 10 bytes element by element, independently of the builder and the parser:
        /// the tags of each data set in the order they stand (the top level with the meta group first, then every sequence item).
        /// </summary>
        private static class ElementWalker
        {
            private static readonly HashSet<string> LongVrs = new HashSet<string> { "OB", "OW", "OF", "OD", "OL", "SQ", "UN", "UT", "UC", "UR" };

            public static List<List<uint>> DataSets(byte[] bytes)
            {
                Assert.Equal("DICM", System.Text.Encoding.ASCII.GetString(bytes, 128, 4));
                var sets = new List<List<uint>>();
                int pos = 132;
                Walk(bytes, ref pos, bytes.Length, sets);
                return sets;
            }

            private static uint Tag(byte[] b, int at) => ((uint)BitConverter.ToUInt16(b, at) << 16) | BitConverter.ToUInt16(b, at + 2);

            /// <summary>Reads one data set up to <paramref name="end"/> or an item delimiter.</summary>
            private static void Walk(byte[] b, ref int pos, int end, List<List<uint>> sets)
            {
                var tags = new List<uint>();
                sets.Add(tags);
                while (pos < end)
                {
                    uint tag = Tag(b, pos);
                    if (tag == 0xFFFEE00D) { pos += 8; return; }
                    tags.Add(tag);
                    var vr = System.Text.Encoding.ASCII.GetString(b, pos + 4, 2);
                    uint length;
                    if (LongVrs.Contains(vr)) { length = BitConverter.ToUInt32(b, pos + 8); pos += 12; }
                    else { length = BitConverter.ToUInt16(b, pos + 6); pos += 8; }
                    if (vr != "SQ") { pos += (int)length; continue; }
                    Assert.Equal(0xFFFFFFFFu, length);
                    while (Tag(b, pos) == 0xFFFEE000)
                    {
                        pos += 8;
                        Walk(b, ref pos, end, sets);
                    }
                    Assert.Equal(0xFFFEE0DDu, Tag(b, pos));
                    pos += 8;
                }
            }
        }
    }
}
