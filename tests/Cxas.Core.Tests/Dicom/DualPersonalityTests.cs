namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// A file that is both DICOM and TIFF, as PS3.10 7.1 allows: a real radiograph of ../shared (native 8-bit pixels),
    /// its 128-byte preamble replaced by a little-endian TIFF header and IFD whose one strip is the DICOM's pixel data.
    /// `DICM` at offset 128 makes it DICOM whatever the preamble holds.
    /// </summary>
    public sealed class DualPersonalityTests : TempFolderTests
    {
        public DualPersonalityTests(ITestOutputHelper output) : base("cxas-dual", output) { }

        [OracleFact("shared", "pydicom")]
        public void DicomWhosePreambleIsATiffIsReadAndSegmentedAsDicom()
        {
            Oracles.Require("shared", "pydicom");
            var source = Path.Combine(TestSupport.Shared!, "dicom", "real", "dx_secondary_capture.dcm");
            const int size = 1024;
            var bytes = File.ReadAllBytes(source);
            Assert.Equal("DICM", System.Text.Encoding.ASCII.GetString(bytes, 128, 4));
            int pixels = LastIndexOf(bytes, new byte[] { 0xE0, 0x7F, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00 }) + 8; // implicit VR: tag, length 1024*1024
            Assert.True(pixels > 132 && pixels + size * size <= bytes.Length, "no native pixel data of 1024x1024 bytes found");
            Array.Clear(bytes, 0, 128);
            WriteTiffHeader(bytes, size, size, pixels);
            var dual = Path.Combine(Dir, "dual.dcm");
            File.WriteAllBytes(dual, bytes);

            // It is a TIFF: the TIFF reader alone decodes it, to the radiograph's stored values as pydicom reads them.
            var stored = PydicomOracle.PixelArray(source);
            var tiff = new TiffReader().Read(dual, ImageReadOptions.Default);
            Assert.Equal(("TIFF", size, size), (tiff.Info.Format, tiff.Width, tiff.Height));
            for (int y = 0; y < size; y += 7)
                for (int x = 0; x < size; x += 5)
                    Assert.Equal(stored[y * size + x], (int)Math.Round(tiff.Raster.GetValue(x, y, 0) * 255));

            // It is DICOM first: read and segmented exactly as the untouched radiograph.
            var image = ImageLoader.Load(dual);
            Assert.Equal("DICOM", image.Info.Format);
            Assert.Equal(((GrayRaster)ImageLoader.Load(source).Raster).Values, ((GrayRaster)image.Raster).Values);
            var segmenter = new Segmenter(CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, 6, 64)), DeviceSpec.Cpu);
            var ours = segmenter.Segment(dual);
            var reference = segmenter.Segment(source);
            Assert.Equal("DICOM", ours.Source.Format);
            Assert.Equal(reference.PixelCounts, ours.PixelCounts);
            Assert.Contains(ours.PixelCounts.Values, n => n > 0);
            for (int k = 0; k < 6; k++)
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                        if (ours.Masks[k, x, y] != reference.Masks[k, x, y]) Assert.Fail($"class {k} differs at ({x},{y})");
        }

        /// <summary>A TIFF header and IFD 0 (9 entries, 122 bytes): 8-bit BlackIsZero, uncompressed, one strip at <paramref name="strip"/>.</summary>
        private static void WriteTiffHeader(byte[] b, int width, int height, int strip)
        {
            var entries = new (ushort Tag, ushort Type, uint Value)[]
            {
                (256, 4, (uint)width), (257, 4, (uint)height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
                (273, 4, (uint)strip), (277, 3, 1), (278, 4, (uint)height), (279, 4, (uint)(width * height)),
            };
            b[0] = (byte)'I';
            b[1] = (byte)'I';
            BitConverter.GetBytes((ushort)42).CopyTo(b, 2);
            BitConverter.GetBytes(8u).CopyTo(b, 4);
            BitConverter.GetBytes((ushort)entries.Length).CopyTo(b, 8);
            for (int i = 0; i < entries.Length; i++)
            {
                int at = 10 + 12 * i;
                BitConverter.GetBytes(entries[i].Tag).CopyTo(b, at);
                BitConverter.GetBytes(entries[i].Type).CopyTo(b, at + 2);
                BitConverter.GetBytes(1u).CopyTo(b, at + 4);
                // a SHORT value sits in the first two bytes of the value field, a LONG fills it
                if (entries[i].Type == 3) BitConverter.GetBytes((ushort)entries[i].Value).CopyTo(b, at + 8);
                else BitConverter.GetBytes(entries[i].Value).CopyTo(b, at + 8);
            }
            BitConverter.GetBytes(0u).CopyTo(b, 10 + 12 * entries.Length); // no next IFD
            Assert.True(14 + 12 * entries.Length <= 128);
        }

        private static int LastIndexOf(byte[] data, byte[] pattern)
        {
            for (int i = data.Length - pattern.Length; i >= 0; i--)
                if (data.AsSpan(i, pattern.Length).SequenceEqual(pattern)) return i;
            return -1;
        }
    }
}
