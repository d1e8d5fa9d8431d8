using Cxas.Dicom;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>Synthetic radiographs written by the tests as explicit VR little endian Part 10 files.</summary>
    internal static class SyntheticDicom
    {
        public const string CrStorage = "1.2.840.10008.5.1.4.1.1.1";
        public const string DxStorage = "1.2.840.10008.5.1.4.1.1.1.1";

        /// <summary>A smooth body-like gradient with seeded noise, in [0, 2^bits).</summary>
        public static ushort[] Image(int rows, int cols, int bits, int seed)
        {
            var rng = new Random(seed);
            var v = new ushort[rows * cols];
            int max = (1 << bits) - 1;
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < cols; x++)
                {
                    double dx = (x - cols / 2.0) / cols, dy = (y - rows / 2.0) / rows;
                    double body = Math.Exp(-(dx * dx * 6 + dy * dy * 4));
                    double ribs = 0.15 * Math.Sin(y * 0.6) * body;
                    double s = 0.1 + 0.7 * body + ribs + (rng.NextDouble() - 0.5) * 0.08;
                    int q = (int)Math.Round(s * max);
                    v[y * cols + x] = (ushort)Math.Max(0, Math.Min(max, q));
                }
            // corners hit both ends of the range
            v[0] = 0;
            v[v.Length - 1] = (ushort)max;
            return v;
        }

        /// <summary>Stored values of frame 0 as our reader decodes them.</summary>
        public static StoredFrame DecodeStored(string path)
        {
            var file = DicomParser.ReadFile(path);
            return DicomPixels.DecodeFirstFrame(file, DicomPixels.Describe(file));
        }

        public sealed class Options
        {
            public int Rows = 96, Columns = 128, BitsAllocated = 16, BitsStored = 12;
            public string Photometric = "MONOCHROME2";
            /// <summary>Samples per pixel: 1, or 3 interleaved (the pixels then hold Rows x Columns x 3 values).</summary>
            public int Samples = 1;
            public string Modality = "CR";
            public string SopClass = CrStorage;
            public string PatientId = "CXAS-SYN-1";
            public string PatientName = "Synthetic^Chest";
            public double? WindowCenter, WindowWidth;
            public double? RescaleSlope, RescaleIntercept;
            public string? PresentationLutShape;
            public int Frames = 1;
            public string Study = DicomUid.New(), Series = DicomUid.New(), Instance = DicomUid.New();
            public bool Preamble = true;
            public string? PixelSpacing, ImagerPixelSpacing;
            public string? VoiLutFunction;
            /// <summary>A VOI LUT Sequence item: first mapped value, bits per entry, entries.</summary>
            public (int First, int Bits, ushort[] Data)? VoiLut;
            public bool Signed;
            /// <summary>A Modality LUT Sequence item: first mapped value, bits per entry, entries.</summary>
            public (int First, int Bits, ushort[] Data)? ModalityLut;
        }

        private static void WriteLut(DicomWriter w, uint sequence, (int First, int Bits, ushort[] Data) l, string typeField)
        {
            w.BeginSequence(sequence);
            w.BeginItem();
            var desc = new byte[6];
            BitConverter.GetBytes((ushort)l.Data.Length).CopyTo(desc, 0);
            BitConverter.GetBytes((ushort)l.First).CopyTo(desc, 2);
            BitConverter.GetBytes((ushort)l.Bits).CopyTo(desc, 4);
            w.Bytes(0x00283002, "US", desc);
            w.Text(0x00283004, "LO", "SYNTHETIC");
            var bytes = new byte[l.Data.Length * 2];
            Buffer.BlockCopy(l.Data, 0, bytes, 0, bytes.Length);
            w.Bytes(0x00283006, "OW", bytes);
            w.Text(0x00283007, "LO", typeField); // ModalityLUTType
            w.EndItem();
            w.EndSequence();
        }

        public static void Write(string path, ushort[] pixels, Options o)
        {
            using var fs = File.Create(path);
            var meta = new MemoryStream();
            var m = new DicomWriter(meta);
            m.Bytes(0x00020001, "OB", new byte[] { 0, 1 });
            m.Text(0x00020002, "UI", o.SopClass);
            m.Text(0x00020003, "UI", o.Instance);
            m.Text(0x00020010, "UI", "1.2.840.10008.1.2.1");
            m.Text(0x00020012, "UI", "2.25.1234567");
            if (o.Preamble)
            {
                fs.Write(new byte[128], 0, 128);
                fs.Write(new[] { (byte)'D', (byte)'I', (byte)'C', (byte)'M' }, 0, 4);
            }
            var w = new DicomWriter(fs);
            w.UL(0x00020000, (uint)meta.Length);
            meta.Position = 0;
            meta.CopyTo(fs);
            w.Text(0x00080008, "CS", "ORIGINAL\\PRIMARY");
            w.Text(0x00080016, "UI", o.SopClass);
            w.Text(0x00080018, "UI", o.Instance);
            w.Text(0x00080020, "DA", "20240102");
            w.Text(0x00080030, "TM", "101500");
            w.Text(0x00080050, "SH", "ACC1");
            w.Text(0x00080060, "CS", o.Modality);
            if (o.SopClass == DxStorage) w.Text(0x00080068, "CS", "FOR PRESENTATION");
            w.Text(0x00080070, "LO", "CxasTests");
            w.Text(0x00080090, "PN", "");
            w.Text(0x00100010, "PN", o.PatientName);
            w.Text(0x00100020, "LO", o.PatientId);
            w.Text(0x00100030, "DA", "19700101");
            w.Text(0x00100040, "CS", "O");
            w.Text(0x00180015, "CS", "CHEST");
            if (o.ImagerPixelSpacing != null) w.Text(0x00181164, "DS", o.ImagerPixelSpacing);
            w.Text(0x00185101, "CS", "PA");
            w.Text(0x0020000D, "UI", o.Study);
            w.Text(0x0020000E, "UI", o.Series);
            w.Text(0x00200010, "SH", "1");
            w.IS(0x00200011, 1);
            w.IS(0x00200013, 1);
            w.Text(0x00200020, "CS", "L\\F");
            w.US(0x00280002, o.Samples);
            w.Text(0x00280004, "CS", o.Photometric);
            if (o.Samples > 1) w.US(0x00280006, 0);
            if (o.Frames > 1) w.IS(0x00280008, o.Frames);
            w.US(0x00280010, o.Rows);
            w.US(0x00280011, o.Columns);
            if (o.PixelSpacing != null) w.Text(0x00280030, "DS", o.PixelSpacing);
            w.US(0x00280100, o.BitsAllocated);
            w.US(0x00280101, o.BitsStored);
            w.US(0x00280102, o.BitsStored - 1);
            w.US(0x00280103, o.Signed ? 1 : 0);
            if (o.WindowCenter.HasValue) w.Text(0x00281050, "DS", o.WindowCenter.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (o.WindowWidth.HasValue) w.Text(0x00281051, "DS", o.WindowWidth.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (o.RescaleIntercept.HasValue) w.Text(0x00281052, "DS", o.RescaleIntercept.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (o.RescaleSlope.HasValue) w.Text(0x00281053, "DS", o.RescaleSlope.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (o.RescaleSlope.HasValue) w.Text(0x00281054, "LO", "US");
            if (o.VoiLutFunction != null) w.Text(0x00281056, "CS", o.VoiLutFunction);
            if (o.VoiLut.HasValue)
            {
                var (first, bits, lut) = o.VoiLut.Value;
                w.BeginSequence(0x00283010);
                w.BeginItem();
                var desc = new byte[6];
                BitConverter.GetBytes((ushort)lut.Length).CopyTo(desc, 0);
                BitConverter.GetBytes((ushort)first).CopyTo(desc, 2);
                BitConverter.GetBytes((ushort)bits).CopyTo(desc, 4);
                w.Bytes(0x00283002, "US", desc);
                var lutBytes = new byte[lut.Length * 2];
                Buffer.BlockCopy(lut, 0, lutBytes, 0, lutBytes.Length);
                w.Bytes(0x00283006, "OW", lutBytes);
                w.EndItem();
                w.EndSequence();
            }
            if (o.ModalityLut.HasValue) WriteLut(w, 0x00283000, o.ModalityLut.Value, "US");
            if (o.PresentationLutShape != null) w.Text(0x20500020, "CS", o.PresentationLutShape);
            int bytes = o.BitsAllocated / 8;
            var data = new byte[pixels.Length * bytes * o.Frames];
            for (int f = 0; f < o.Frames; f++)
                for (int i = 0; i < pixels.Length; i++)
                {
                    int at = (f * pixels.Length + i) * bytes;
                    // later frames differ from frame 1 (inverted), so decoding the wrong frame shows
                    int v = f == 0 ? pixels[i] : ((1 << o.BitsStored) - 1) - pixels[i];
                    data[at] = (byte)v;
                    if (bytes == 2) data[at + 1] = (byte)(v >> 8);
                }
            w.Bytes(0x7FE00010, bytes == 2 ? "OW" : "OB", data);
        }
    }
}
