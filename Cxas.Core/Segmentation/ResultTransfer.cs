using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Cxas.Imaging;
using Cxas.Masks;

namespace Cxas.Segmentation
{
    /// <summary>
    /// A result as bytes, so it can cross a process boundary (a PowerShell job, a remote session) whole: masks included.
    /// <list type="number">
    /// <item>the text <c>CXAS-RESULT 1</c> and a newline;</item>
    /// <item>a little-endian int32 length and that many bytes of UTF-8 JSON: the source (path, relative path, format,
    /// spacing, DICOM identity, warnings), the image and grid sizes, the model, device, timings and labels;</item>
    /// <item>a little-endian int32 length and that many bytes: the masks' grid bits, class after class, rows padded to
    /// 64-bit words, little-endian, deflated; nothing follows.</item>
    /// </list>
    /// Full-resolution masks follow from the grid bits and the sizes (see <see cref="MaskSet"/>), so nothing is lost:
    /// 159 classes at 512x512 are 5.2 MB before deflating, typically well under 1 MB after. A DICOM source's identity
    /// (<see cref="DicomIdentity"/>: what a DICOM Segmentation needs) travels with the source, so a rebuilt result can
    /// still be exported as DICOM-SEG where its source file is not.
    /// </summary>
    public static class ResultTransfer
    {
        /// <summary>Largest transfer form produced (bytes); a result beyond it travels without masks.</summary>
        public const int MaxBytes = 64 << 20;

        private static TimeSpan Milliseconds(double ms) => TimeSpan.FromTicks((long)Math.Round(ms * TimeSpan.TicksPerMillisecond));

        private static readonly byte[] Magic = Encoding.ASCII.GetBytes("CXAS-RESULT 1\n");

        // The header's JSON, named as SourceInfo's and the result's public properties (version 1 wrote them directly):
        // the immutable result and source are rebuilt from it through their constructors.
        private sealed class Header
        {
            public SourceHeader? Source { get; set; }
            public int Width { get; set; }
            public int Height { get; set; }
            public int GridWidth { get; set; }
            public int GridHeight { get; set; }
            public string Model { get; set; } = "";
            public string ModelVersion { get; set; } = "";
            public string ModelDirectory { get; set; } = "";
            public string Device { get; set; } = "";
            public double DecodeMs { get; set; }
            public double InferenceMs { get; set; }
            public List<string> Labels { get; set; } = new List<string>();
        }

        private sealed class SourceHeader
        {
            public string Path { get; set; } = "";
            public string? RelativePath { get; set; }
            public string Format { get; set; } = "";
            public double? RowSpacingMm { get; set; }
            public double? ColumnSpacingMm { get; set; }
            public string? SpacingSource { get; set; }
            public string? PatientId { get; set; }
            public string? StudyInstanceUid { get; set; }
            public string? SeriesInstanceUid { get; set; }
            public string? SopInstanceUid { get; set; }
            public string? SopClassUid { get; set; }
            public string? FrameOfReferenceUid { get; set; }
            public string? Modality { get; set; }
            public string? ViewPosition { get; set; }
            public List<string> Warnings { get; set; } = new List<string>();
            public DicomIdentity? Dicom { get; set; }

            public static SourceHeader From(SourceInfo s) => new SourceHeader
            {
                Path = s.Path, RelativePath = s.RelativePath, Format = s.Format, RowSpacingMm = s.RowSpacingMm, ColumnSpacingMm = s.ColumnSpacingMm,
                SpacingSource = s.SpacingSource, PatientId = s.PatientId, StudyInstanceUid = s.StudyInstanceUid, SeriesInstanceUid = s.SeriesInstanceUid,
                SopInstanceUid = s.SopInstanceUid, SopClassUid = s.SopClassUid, FrameOfReferenceUid = s.FrameOfReferenceUid, Modality = s.Modality,
                ViewPosition = s.ViewPosition, Warnings = s.Warnings.ToList(), Dicom = s.Dicom,
            };

            public SourceInfo ToSource() => new SourceInfo(Path ?? "", Format ?? "")
            {
                RelativePath = RelativePath, RowSpacingMm = RowSpacingMm, ColumnSpacingMm = ColumnSpacingMm, SpacingSource = SpacingSource,
                PatientId = PatientId, StudyInstanceUid = StudyInstanceUid, SeriesInstanceUid = SeriesInstanceUid, SopInstanceUid = SopInstanceUid,
                SopClassUid = SopClassUid, FrameOfReferenceUid = FrameOfReferenceUid, Modality = Modality, ViewPosition = ViewPosition,
                Warnings = (Warnings ?? new List<string>()).ToList(), Dicom = Dicom,
            };
        }

        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions();

        /// <summary>The transfer form of a result, or null when it would exceed <see cref="MaxBytes"/>.</summary>
        public static byte[]? Pack(SegmentationResult result)
        {
            var m = result.Masks;
            var header = new Header
            {
                Source = SourceHeader.From(result.Source), Width = result.Width, Height = result.Height, GridWidth = m.GridWidth, GridHeight = m.GridHeight,
                Model = result.Model, ModelVersion = result.ModelVersion, ModelDirectory = result.ModelDirectory, Device = result.Device,
                DecodeMs = result.DecodeMs, InferenceMs = result.InferenceMs, Labels = m.Labels.ToList(),
            };
            var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
            using var planes = new MemoryStream();
            using (var deflate = new DeflateStream(planes, CompressionLevel.Fastest, leaveOpen: true))
            {
                var bytes = new byte[m.GridWordsPerRow * m.GridHeight * 8];
                for (int c = 0; c < m.Count; c++)
                {
                    Buffer.BlockCopy(m.Plane(c), 0, bytes, 0, bytes.Length);
                    deflate.Write(bytes, 0, bytes.Length);
                }
            }
            long total = Magic.Length + 4 + json.Length + 4 + planes.Length;
            if (total > MaxBytes) return null;
            var form = new byte[total];
            Buffer.BlockCopy(Magic, 0, form, 0, Magic.Length);
            int o = Magic.Length;
            Buffer.BlockCopy(BitConverter.GetBytes(json.Length), 0, form, o, 4);
            Buffer.BlockCopy(json, 0, form, o + 4, json.Length);
            o += 4 + json.Length;
            Buffer.BlockCopy(BitConverter.GetBytes((int)planes.Length), 0, form, o, 4);
            Buffer.BlockCopy(planes.GetBuffer(), 0, form, o + 4, (int)planes.Length);
            return form;
        }

        /// <summary>The result a transfer form describes; malformed data is <see cref="CxasErrorKind.InvalidData"/>.</summary>
        public static SegmentationResult Unpack(byte[] data)
        {
            try
            {
                if (data.Length < Magic.Length + 4 || !data.Take(Magic.Length).SequenceEqual(Magic)) throw Bad("it does not start with the transfer header");
                int length = BitConverter.ToInt32(data, Magic.Length);
                if (length <= 0 || length > data.Length - Magic.Length - 4) throw Bad("its header length is out of range");
                var header = JsonSerializer.Deserialize<Header>(new ReadOnlySpan<byte>(data, Magic.Length + 4, length), Json)
                             ?? throw Bad("its header is empty");
                if (header.Labels.Count == 0 || header.GridWidth <= 0 || header.GridHeight <= 0 || header.Width <= 0 || header.Height <= 0 ||
                    (long)header.GridWidth * header.GridHeight > 16L << 20 || (long)header.Width * header.Height > ImageReadOptions.Default.MaxPixels)
                    throw Bad("its sizes are out of range");
                var masks = new MaskSet(header.Labels, header.GridWidth, header.GridHeight, header.Width, header.Height);
                int offset = Magic.Length + 4 + length;
                if (data.Length < offset + 4) throw Bad("its mask data are missing");
                int packed = BitConverter.ToInt32(data, offset);
                if (packed <= 0 || packed != data.Length - offset - 4) throw Bad("its mask data length does not match its size");
                using (var deflate = new DeflateStream(new MemoryStream(data, offset + 4, packed), CompressionMode.Decompress))
                {
                    var bytes = new byte[masks.GridWordsPerRow * masks.GridHeight * 8];
                    for (int c = 0; c < masks.Count; c++)
                    {
                        int n = 0, r;
                        while (n < bytes.Length && (r = deflate.Read(bytes, n, bytes.Length - n)) > 0) n += r;
                        if (n != bytes.Length) throw Bad($"its mask data end in class {c + 1} of {masks.Count}");
                        Buffer.BlockCopy(bytes, 0, masks.Plane(c), 0, bytes.Length);
                    }
                    if (deflate.ReadByte() >= 0) throw Bad("it holds more mask data than its sizes say");
                }
                masks.PlanesChanged();
                var source = header.Source?.ToSource() ?? throw Bad("its source is missing");
                // From ticks: .NET Framework's TimeSpan.FromMilliseconds rounds to whole milliseconds (Windows PowerShell 5.1).
                return new SegmentationResult(source, header.Width, header.Height, header.Model, header.ModelDirectory, header.Device, masks,
                    Milliseconds(header.DecodeMs), Milliseconds(header.InferenceMs), header.ModelVersion ?? "");
            }
            catch (Exception ex) when (ex is JsonException || ex is InvalidDataException || ex is ArgumentException)
            {
                throw Bad(ex.Message);
            }
        }

        private static CxasException Bad(string why) =>
            new CxasException(CxasErrorKind.InvalidData, $"A transferred segmentation result cannot be read: {why}.");
    }
}
