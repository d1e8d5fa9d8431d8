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
            var source = new SourceInfo("/data/a b/IM0001", "DICOM") { RelativePath = "a b/IM0001", RowSpacingMm = 0.139,
                ColumnSpacingMm = 0.143, SopInstanceUid = "1.2.3.4", PatientId = "P\u00e9", Warnings = new[] { "frame 1 of 3 was used" } };
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
            Assert.Equal(original.Source.RelativePath, back.Source.RelativePath);
            Assert.Equal(original.Source.PatientId, back.Source.PatientId);
            Assert.Equal(original.RowSpacingMm, back.RowSpacingMm);
            Assert.Equal(original.Source.Warnings, back.Source.Warnings);
            Assert.Equal(("m", "7", "Cpu", 12.5, 40.0), (back.Model, back.ModelVersion, back.Device, back.DecodeMs, back.InferenceMs));
            if (classes == 159) Assert.True(form.Length < 8 << 20, $"{form.Length} bytes");
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
