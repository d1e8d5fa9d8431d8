namespace Cxas.Core.Tests.Segmentation
{
    /// <summary>The transfer form carries a result whole (every grid bit, sizes, source) and refuses damaged data.</summary>
    public class ResultTransferTests
    {
        private static SegmentationResult RandomResult(int classes, int gw, int gh, int w, int h, int seed)
        {
            var labels = Enumerable.Range(0, classes).Select(i => "class " + i).ToArray();
            var masks = new MaskSet(labels, gw, gh, w, h);
            var rng = new Random(seed);
            for (int c = 0; c < classes; c++)
                for (int y = 0; y < gh; y++)
                    for (int x = 0; x < gw; x++)
                        if (rng.Next(3 + c % 5) == 0) masks.SetGridBit(c, x, y, true);
            // Every member of the source set, so that a member the transfer header forgets shows.
            var source = new SourceInfo("/data/a b/IM0001", "DICOM")
            {
                RelativePath = "a b/IM0001", RowSpacingMm = 0.139, ColumnSpacingMm = 0.143, SpacingSource = "ImagerPixelSpacing",
                PatientId = "P\u00e9", StudyInstanceUid = "1.2.3", SeriesInstanceUid = "1.2.3.4", SopInstanceUid = "1.2.3.4.5",
                SopClassUid = "1.2.840.10008.5.1.4.1.1.1.1", FrameOfReferenceUid = "1.2.3.9", Modality = "DX", ViewPosition = "PA",
                Warnings = new[] { "frame 1 of 3 was used" },
            };
            return new SegmentationResult(source, w, h, "m", "/models/m", "Cpu", masks, TimeSpan.FromTicks(125_000), TimeSpan.FromMilliseconds(40), "7");
        }

        [Theory]
        [InlineData(159, 512, 512, 3000, 2500)]
        [InlineData(3, 65, 37, 131, 77)]
        public void ARoundTripKeepsEveryBitAndTheSource(int classes, int gw, int gh, int w, int h)
        {
            var original = RandomResult(classes, gw, gh, w, h, classes);
            var form = ResultTransfer.Pack(original)!;
            var back = ResultTransfer.Unpack(form);
            Assert.Equal((w, h, gw, gh), (back.Width, back.Height, back.Masks.GridWidth, back.Masks.GridHeight));
            Assert.Equal(original.Masks.Labels, back.Masks.Labels);
            for (int c = 0; c < classes; c++)
                for (int y = 0; y < gh; y++)
                    for (int x = 0; x < gw; x++)
                        Assert.Equal(original.Masks.GridBit(c, x, y), back.Masks.GridBit(c, x, y));
            Assert.Equal(original.Masks.PixelCounts, back.Masks.PixelCounts);
            SameSource(original.Source, back.Source);
            Assert.Equal(("m", "7", "Cpu", 12.5, 40.0), (back.Model, back.ModelVersion, back.Device, back.DecodeMs, back.InferenceMs));
            if (classes == 159) Assert.True(form.Length < 8 << 20, $"{form.Length} bytes");
        }

        /// <summary>Every public member of two sources is equal (the warnings item by item), and none is unset.</summary>
        internal static void SameSource(SourceInfo expected, SourceInfo actual)
        {
            foreach (var p in typeof(SourceInfo).GetProperties())
            {
                var want = p.GetValue(expected);
                // The DICOM identity is compared as its JSON (SegSinkTests covers a decoded one crossing over).
                if (p.Name == nameof(SourceInfo.Dicom))
                {
                    Assert.Equal(System.Text.Json.JsonSerializer.Serialize(want), System.Text.Json.JsonSerializer.Serialize(p.GetValue(actual)));
                    continue;
                }
                Assert.NotNull(want);
                if (want is IEnumerable<string> items) Assert.Equal(items, (IEnumerable<string>)p.GetValue(actual)!);
                else Assert.Equal(want, p.GetValue(actual));
            }
        }

        /// <summary>
        /// A transfer form as version 1 wrote it before sources were immutable (the header's JSON written from SourceInfo's
        /// public properties, in their order), typed here by hand: it still reads, through the constructors, whole.
        /// </summary>
        internal static byte[] VersionOneForm(string path = "/data/s1/IM0001")
        {
            string header = "{\"Source\":{\"Path\":\"" + path.Replace("\\", "\\\\") + "\",\"RelativePath\":\"s1/IM0001\",\"Format\":\"DICOM\"," +
                "\"RowSpacingMm\":0.139,\"ColumnSpacingMm\":0.143,\"SpacingSource\":\"PixelSpacing\",\"PatientId\":\"P\\u00E9\"," +
                "\"StudyInstanceUid\":\"1.2.3\",\"SeriesInstanceUid\":\"1.2.3.4\",\"SopInstanceUid\":\"1.2.3.4.5\"," +
                "\"SopClassUid\":\"1.2.840.10008.5.1.4.1.1.1.1\",\"FrameOfReferenceUid\":\"1.2.3.9\",\"Modality\":\"DX\",\"ViewPosition\":\"PA\"," +
                "\"Warnings\":[\"Multi-frame image: frame 1 of 2 was used; the other frames were ignored.\"]}," +
                "\"Width\":6,\"Height\":4,\"GridWidth\":3,\"GridHeight\":2,\"Model\":\"m\",\"ModelVersion\":\"7\"," +
                "\"ModelDirectory\":\"/models/m\",\"Device\":\"Cpu\",\"DecodeMs\":12.5,\"InferenceMs\":40,\"Labels\":[\"a\",\"b\"]}";
            var json = System.Text.Encoding.UTF8.GetBytes(header);
            // Class a: grid row 0 columns 0 and 2; class b: grid row 1 column 1 (one 64-bit word per row, little-endian).
            var planes = new byte[2 * 2 * 8];
            planes[0] = 0b101;
            planes[16 + 8] = 0b010;
            using var packed = new MemoryStream();
            using (var deflate = new System.IO.Compression.DeflateStream(packed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
                deflate.Write(planes, 0, planes.Length);
            return System.Text.Encoding.ASCII.GetBytes("CXAS-RESULT 1\n").Concat(BitConverter.GetBytes(json.Length)).Concat(json)
                .Concat(BitConverter.GetBytes((int)packed.Length)).Concat(packed.ToArray()).ToArray();
        }

        [Fact]
        public void AVersionOneFormStillReads()
        {
            var back = ResultTransfer.Unpack(VersionOneForm());
            var expected = new SourceInfo("/data/s1/IM0001", "DICOM")
            {
                RelativePath = "s1/IM0001", RowSpacingMm = 0.139, ColumnSpacingMm = 0.143, SpacingSource = "PixelSpacing",
                PatientId = "P\u00e9", StudyInstanceUid = "1.2.3", SeriesInstanceUid = "1.2.3.4", SopInstanceUid = "1.2.3.4.5",
                SopClassUid = "1.2.840.10008.5.1.4.1.1.1.1", FrameOfReferenceUid = "1.2.3.9", Modality = "DX", ViewPosition = "PA",
                Warnings = new[] { "Multi-frame image: frame 1 of 2 was used; the other frames were ignored." },
            };
            SameSource(expected, back.Source);
            Assert.Equal(("m", "7", "/models/m", "Cpu", 12.5, 40.0), (back.Model, back.ModelVersion, back.ModelDirectory, back.Device, back.DecodeMs, back.InferenceMs));
            // 6x4 pixels on a 3x2 grid: each grid cell is 2x2 pixels.
            Assert.Equal((6, 4), (back.Width, back.Height));
            Assert.Equal(8, back.PixelCounts["a"]);
            Assert.Equal(4, back.PixelCounts["b"]);
            Assert.True(back.Masks.GridBit(0, 2, 0) && !back.Masks.GridBit(0, 1, 0) && back.Masks.GridBit(1, 1, 1));
        }

        [Fact]
        public void DamagedFormsAreInvalidData()
        {
            var form = ResultTransfer.Pack(RandomResult(3, 40, 30, 80, 60, 1))!;
            var cases = new[]
            {
                form.Take(form.Length - 20).ToArray(),                    // mask data cut short
                form.Concat(new byte[] { 1, 2, 3 }).ToArray(),            // trailing garbage after the deflate stream
                new byte[] { 1, 2, 3 },                                    // not a transfer form
                form.Select((b, i) => i == 16 ? (byte)0x7f : b).ToArray(), // header length out of range
            };
            foreach (var bad in cases)
            {
                var ex = Assert.Throws<CxasException>(() => ResultTransfer.Unpack(bad));
                Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            }
        }
    }
}
