using System.IO.Compression;

namespace Cxas.Dicom
{
    /// <summary>A parsed DICOM file: its file meta information, its data set and how the data set was encoded.</summary>
    /// <param name="Path">The file read.</param>
    /// <param name="Meta">Group 0002, the file meta information (empty for a file without it).</param>
    /// <param name="Dataset">The data set.</param>
    /// <param name="TransferSyntax">The transfer syntax the data set was actually parsed with.</param>
    /// <param name="HadPreamble">Whether the file began with the 128-byte preamble and "DICM".</param>
    internal sealed record DicomFile(string Path, DicomDataset Meta, DicomDataset Dataset, string TransferSyntax, bool HadPreamble);

    /// <summary>Transfer syntax UIDs.</summary>
    internal static class TransferSyntaxes
    {
        // Native (uncompressed) encodings
        public const string ImplicitLittle = "1.2.840.10008.1.2";
        public const string ExplicitLittle = "1.2.840.10008.1.2.1";
        public const string DeflatedExplicitLittle = "1.2.840.10008.1.2.1.99";
        public const string ExplicitBig = "1.2.840.10008.1.2.2";
        // JPEG (ITU-T T.81): baseline and extended are lossy, process 14 lossless
        public const string JpegBaseline = "1.2.840.10008.1.2.4.50";
        public const string JpegExtended = "1.2.840.10008.1.2.4.51";
        public const string JpegLossless = "1.2.840.10008.1.2.4.57";
        public const string JpegLosslessSv1 = "1.2.840.10008.1.2.4.70";
        // JPEG-LS, JPEG 2000 and RLE
        public const string JpegLsLossless = "1.2.840.10008.1.2.4.80";
        public const string JpegLsNear = "1.2.840.10008.1.2.4.81";
        public const string Jpeg2000Lossless = "1.2.840.10008.1.2.4.90";
        public const string Jpeg2000 = "1.2.840.10008.1.2.4.91";
        public const string Rle = "1.2.840.10008.1.2.5";

        public static bool IsEncapsulated(string ts) =>
            ts != ImplicitLittle && ts != ExplicitLittle && ts != DeflatedExplicitLittle && ts != ExplicitBig;
    }

    /// <summary>
    /// Reads Part 10 files (with or without the 128-byte preamble and "DICM"), and bare data sets starting with a group
    /// 0002 or 0008 element. Implicit and explicit VR little endian, explicit VR big endian and deflated explicit VR little
    /// endian; defined and undefined lengths, nested sequences to a bounded depth, odd lengths, encapsulated pixel data.
    /// Every length is checked against the bytes actually present, so a corrupt length can never cause an allocation or
    /// a read past the end: such files fail with <see cref="CxasException"/> (InvalidData).
    /// </summary>
    internal sealed class DicomParser
    {
        private const int MaxDepth = 24;
        private const uint Undefined = 0xFFFFFFFF;
        /// <summary>Deflate never compresses by more than about 1032:1; more output than that means a corrupt stream.</summary>
        private const long MaxDeflateRatio = 1032;

        private static readonly HashSet<string> LongVrs = new HashSet<string> { "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV" };
        private static readonly HashSet<string> AllVrs = new HashSet<string>
        {
            "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL",
            "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV",
        };

        private readonly string _path;
        private byte[] _buf;
        private bool _explicit;
        private bool _big;

        private DicomParser(string path, byte[] data)
        {
            _path = path;
            _buf = data;
        }

        public static DicomFile ReadFile(string path)
        {
            byte[] data;
            try
            {
                data = File.ReadAllBytes(path);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' cannot be read: {ex.Message}", path, ex);
            }
            return Parse(path, data);
        }

        public static DicomFile Parse(string path, byte[] data) => new DicomParser(path, data).Run();

        /// <summary>Whether the first bytes look like DICOM: "DICM" at 128, or a plausible group 0002/0008 element at 0.</summary>
        public static bool Recognise(ReadOnlySpan<byte> head)
        {
            if (head.Length >= 132 && head[128] == 'D' && head[129] == 'I' && head[130] == 'C' && head[131] == 'M') return true;
            if (head.Length < 8) return false;
            int group = head[0] | (head[1] << 8);
            int element = head[2] | (head[3] << 8);
            if (group != 0x0002 && group != 0x0008) return false;
            if (element > 0x0100) return false;
            if (IsVr(head[4], head[5])) return true;
            // implicit VR: a small 4-byte length
            uint length = (uint)(head[4] | (head[5] << 8) | (head[6] << 16) | (head[7] << 24));
            return length < 256 || (element == 0 && length == 4);
        }

        private static bool IsVr(byte a, byte b) => a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z' && AllVrs.Contains(new string(new[] { (char)a, (char)b }));

        private CxasException Fail(string message) =>
            new CxasException(CxasErrorKind.InvalidData, $"'{_path}' is not a valid DICOM file: {message}", _path);

        private DicomFile Run()
        {
            int pos = 0;
            bool preamble = false;
            if (_buf.Length >= 132 && _buf[128] == 'D' && _buf[129] == 'I' && _buf[130] == 'C' && _buf[131] == 'M')
            {
                pos = 132;
                preamble = true;
            }
            else if (!Recognise(_buf))
                throw Fail("no DICM prefix and no recognisable data set at the start.");

            // File meta information: always little endian; explicit VR unless a sloppy writer used implicit.
            var meta = new DicomDataset();
            _big = false;
            while (pos + 8 <= _buf.Length && (_buf[pos] | (_buf[pos + 1] << 8)) == 0x0002)
            {
                _explicit = IsVr(_buf[pos + 4], _buf[pos + 5]);
                ReadElement(meta, ref pos, _buf.Length, 0);
            }

            var ts = meta.GetString(Tags.TransferSyntaxUid)?.Trim();
            int end = _buf.Length;
            if (pos >= end) throw Fail("it holds no data set after its file meta information.");
            if (ts == TransferSyntaxes.DeflatedExplicitLittle)
            {
                _buf = Inflate(pos);
                pos = 0;
                end = _buf.Length;
            }

            _big = ts == TransferSyntaxes.ExplicitBig;
            if (ts == null) _explicit = pos + 6 <= end && IsVr(_buf[pos + 4], _buf[pos + 5]);
            else _explicit = ts != TransferSyntaxes.ImplicitLittle;
            // Sloppy writers declare one VR encoding and write the other: trust the bytes of the first element.
            if (pos + 8 <= end && !_big)
            {
                bool looksExplicit = IsVr(_buf[pos + 4], _buf[pos + 5]);
                if (looksExplicit != _explicit)
                {
                    uint implicitLength = (uint)(_buf[pos + 4] | (_buf[pos + 5] << 8) | (_buf[pos + 6] << 16) | (_buf[pos + 7] << 24));
                    if (looksExplicit || implicitLength <= (uint)(end - pos - 8) || implicitLength == Undefined) _explicit = looksExplicit;
                }
            }
            var effective = ts ?? (_explicit ? TransferSyntaxes.ExplicitLittle : TransferSyntaxes.ImplicitLittle);
            if (ts == TransferSyntaxes.ExplicitLittle && !_explicit) effective = TransferSyntaxes.ImplicitLittle;
            if (ts == TransferSyntaxes.ImplicitLittle && _explicit) effective = TransferSyntaxes.ExplicitLittle;

            var dataset = ParseDataset(ref pos, end, 0, untilItemDelimiter: false);
            var charset = dataset.GetString(Tags.SpecificCharacterSet);
            if (charset != null && charset.Contains("ISO_IR 192")) dataset.TextEncoding = System.Text.Encoding.UTF8;
            else if (charset != null && charset.Contains("ISO_IR 100")) dataset.TextEncoding = System.Text.Encoding.GetEncoding("iso-8859-1");
            return new DicomFile(_path, meta, dataset, effective, preamble);
        }

        private byte[] Inflate(int pos)
        {
            long cap = Math.Max(1L << 20, (long)(_buf.Length - pos) * MaxDeflateRatio);
            cap = Math.Min(cap, int.MaxValue - 64);
            var output = new MemoryStream();
            try
            {
                using var deflate = new DeflateStream(new MemoryStream(_buf, pos, _buf.Length - pos, writable: false), CompressionMode.Decompress);
                var chunk = new byte[1 << 16];
                int n;
                while ((n = deflate.Read(chunk, 0, chunk.Length)) > 0)
                {
                    if (output.Length + n > cap) throw Fail("its deflated data set expands beyond what deflate can produce.");
                    output.Write(chunk, 0, n);
                }
            }
            // The source is in memory, so an IOException too means corrupt data (Mono's inflater throws it, not InvalidDataException).
            catch (Exception ex) when (ex is InvalidDataException || (ex is IOException && !(ex is CxasException)))
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"'{_path}' is not a valid DICOM file: its deflated data set is corrupt ({ex.Message}).", _path, ex);
            }
            return output.ToArray();
        }

        private int U16(int at) => _big ? (_buf[at] << 8) | _buf[at + 1] : _buf[at] | (_buf[at + 1] << 8);

        private uint U32(int at) => _big
            ? (uint)((_buf[at] << 24) | (_buf[at + 1] << 16) | (_buf[at + 2] << 8) | _buf[at + 3])
            : (uint)(_buf[at] | (_buf[at + 1] << 8) | (_buf[at + 2] << 16) | (_buf[at + 3] << 24));

        private uint ReadTag(int at) => ((uint)U16(at) << 16) | (uint)U16(at + 2);

        private DicomDataset ParseDataset(ref int pos, int end, int depth, bool untilItemDelimiter)
        {
            if (depth > MaxDepth) throw Fail($"sequences are nested deeper than {MaxDepth} levels.");
            var ds = new DicomDataset();
            while (pos < end)
            {
                if (pos + 8 > end)
                {
                    // Trailing padding of fewer than 8 bytes is tolerated at the top level only.
                    if (depth == 0 && !untilItemDelimiter) { pos = end; break; }
                    throw Fail($"an element header at offset {pos} is cut off.");
                }
                uint tag = ReadTag(pos);
                if (tag == Tags.ItemDelimitation)
                {
                    pos += 8;
                    if (untilItemDelimiter) return ds;
                    continue; // stray delimiter: skip
                }
                if (tag == Tags.SequenceDelimitation && depth > 0) throw Fail($"a sequence delimiter at offset {pos} where an item was open.");
                ReadElement(ds, ref pos, end, depth);
            }
            if (untilItemDelimiter) throw Fail("an item of undefined length has no item delimiter.");
            return ds;
        }

        private void ReadElement(DicomDataset ds, ref int pos, int end, int depth)
        {
            int start = pos;
            uint tag = ReadTag(pos);
            string vr;
            uint length;
            bool explicitHere = _explicit && (tag >> 16) != 0xFFFE;
            if (explicitHere)
            {
                if (pos + 8 > end) throw Fail($"an element header at offset {pos} is cut off.");
                byte a = _buf[pos + 4], b = _buf[pos + 5];
                if (!IsVr(a, b)) throw Fail($"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) at offset {pos} has no valid VR.");
                vr = new string(new[] { (char)a, (char)b });
                if (LongVrs.Contains(vr))
                {
                    if (pos + 12 > end) throw Fail($"an element header at offset {pos} is cut off.");
                    length = U32(pos + 8);
                    pos += 12;
                }
                else
                {
                    length = (uint)U16(pos + 6);
                    pos += 8;
                }
            }
            else
            {
                length = U32(pos + 4);
                vr = ImplicitVr(tag);
                pos += 8;
            }

            if (length == Undefined)
            {
                if (tag == Tags.PixelData)
                {
                    var pixel = new DicomElement(tag, vr == "OW" ? "OB" : vr, _buf, pos, 0, _big);
                    ReadFragments(pixel, ref pos, end);
                    ds.Add(pixel);
                    return;
                }
                var seq = new DicomElement(tag, "SQ", _buf, pos, 0, _big);
                bool saveExplicit = _explicit, saveBig = _big;
                if (vr == "UN") { _explicit = false; _big = false; } // UN sequences are implicit VR little endian inside
                try
                {
                    seq.Items = ReadItems(ref pos, end, depth, definedEnd: -1);
                }
                finally
                {
                    _explicit = saveExplicit;
                    _big = saveBig;
                }
                ds.Add(seq);
                return;
            }

            if (length > (uint)(end - pos))
                throw Fail($"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) at offset {start} declares {length} bytes but only {end - pos} remain (truncated file?).");
            int len = (int)length;
            var element = new DicomElement(tag, vr, _buf, pos, len, _big);
            bool asSequence = vr == "SQ" || (!explicitHere && vr == "UN" && tag != Tags.PixelData && LooksLikeItems(pos, len));
            if (asSequence)
            {
                int p = pos;
                try
                {
                    element.Items = ReadItems(ref p, pos + len, depth, definedEnd: pos + len);
                }
                catch (CxasException) when (vr != "SQ")
                {
                    element.Items = null; // heuristic guess was wrong: keep the raw bytes
                }
                element = element.Items != null ? new DicomElement(tag, "SQ", _buf, pos, len, _big) { Items = element.Items } : element;
            }
            ds.Add(element);
            pos += len;
        }

        private bool LooksLikeItems(int pos, int len) =>
            len >= 8 && _buf[pos] == 0xFE && _buf[pos + 1] == 0xFF && _buf[pos + 2] == 0x00 && _buf[pos + 3] == 0xE0;

        private List<DicomDataset> ReadItems(ref int pos, int end, int depth, int definedEnd)
        {
            if (depth + 1 > MaxDepth) throw Fail($"sequences are nested deeper than {MaxDepth} levels.");
            var items = new List<DicomDataset>();
            while (true)
            {
                if (definedEnd >= 0 && pos >= definedEnd) return items;
                if (pos + 8 > end) throw Fail("a sequence is cut off.");
                uint tag = ReadTag(pos);
                uint length = U32(pos + 4);
                pos += 8;
                if (tag == Tags.SequenceDelimitation)
                {
                    if (definedEnd >= 0) throw Fail("a sequence delimiter inside a sequence of defined length.");
                    return items;
                }
                if (tag != Tags.Item) throw Fail($"a sequence holds ({tag >> 16:X4},{tag & 0xFFFF:X4}) where an item belongs (offset {pos - 8}).");
                if (length == Undefined)
                {
                    items.Add(ParseDataset(ref pos, end, depth + 1, untilItemDelimiter: true));
                }
                else
                {
                    if (length > (uint)(end - pos)) throw Fail($"an item at offset {pos - 8} declares {length} bytes but only {end - pos} remain.");
                    int itemEnd = pos + (int)length;
                    items.Add(ParseDataset(ref pos, itemEnd, depth + 1, untilItemDelimiter: false));
                    pos = itemEnd;
                }
            }
        }

        private void ReadFragments(DicomElement pixel, ref int pos, int end)
        {
            var fragments = new List<ArraySegment<byte>>();
            bool first = true;
            while (true)
            {
                if (pos + 8 > end) throw Fail("encapsulated pixel data is cut off (no sequence delimiter).");
                // Item tags of encapsulated data are little endian in every encapsulated syntax.
                uint tag = (uint)((_buf[pos + 1] << 24) | (_buf[pos] << 16) | (_buf[pos + 3] << 8) | _buf[pos + 2]);
                uint length = (uint)(_buf[pos + 4] | (_buf[pos + 5] << 8) | (_buf[pos + 6] << 16) | (_buf[pos + 7] << 24));
                pos += 8;
                if (tag == Tags.SequenceDelimitation) break;
                if (tag != Tags.Item) throw Fail($"encapsulated pixel data holds ({tag >> 16:X4},{tag & 0xFFFF:X4}) where a fragment belongs.");
                if (length == Undefined || length > (uint)(end - pos))
                    throw Fail($"a pixel data fragment at offset {pos - 8} declares {length} bytes but only {end - pos} remain (truncated file?).");
                var segment = new ArraySegment<byte>(_buf, pos, (int)length);
                if (first) pixel.OffsetTable = segment;
                else fragments.Add(segment);
                first = false;
                pos += (int)length;
            }
            if (first) throw Fail("encapsulated pixel data has no basic offset table item.");
            pixel.Fragments = fragments;
        }

        /// <summary>The VR of elements this library interprets, for implicit VR files; "UN" otherwise.</summary>
        private static string ImplicitVr(uint tag)
        {
            switch (tag)
            {
                case Tags.SamplesPerPixel:
                case Tags.PlanarConfiguration:
                case Tags.Rows:
                case Tags.Columns:
                case Tags.BitsAllocated:
                case Tags.BitsStored:
                case Tags.HighBit:
                case Tags.PixelRepresentation:
                case Tags.LutDescriptor:
                    return "US";
                case Tags.ModalityLutSequence:
                case Tags.VoiLutSequence:
                    return "SQ";
                case Tags.PixelData:
                case Tags.LutData:
                    return "OW";
                case Tags.NumberOfFrames:
                    return "IS";
                case Tags.WindowCenter:
                case Tags.WindowWidth:
                case Tags.RescaleIntercept:
                case Tags.RescaleSlope:
                case Tags.PixelSpacing:
                case Tags.ImagerPixelSpacing:
                    return "DS";
            }
            if ((tag & 0xFFFF) == 0) return "UL"; // group lengths
            return "UN";
        }
    }
}
