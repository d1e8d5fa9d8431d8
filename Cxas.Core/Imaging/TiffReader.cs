using System.IO.Compression;
using SixLabors.ImageSharp.Formats.Tiff;

namespace Cxas.Imaging
{
    /// <summary>
    /// TIFF (classic, 32-bit offsets) through ImageSharp, converted to 8-bit RGB as PNG is (16-bit samples scaled
    /// v*255/65535, rounded; alpha dropped). Only the first image (IFD 0) is read; a multi-page file says so in a warning.
    /// <para>Pipeline, in order:</para>
    /// <list type="number">
    /// <item>The whole file is read into memory (at most 2 GiB). Header: byte order "II" or "MM", 42, the offset of IFD 0.
    /// BigTIFF (43) is not supported.</item>
    /// <item>IFD 0 is parsed by us: it must lie within the file, and so must the values of every entry this reader uses
    /// (other entries are skipped unread).</item>
    /// <item>Width and height are checked against the read's <see cref="ImageReadOptions"/> before anything the size of the
    /// image is allocated.</item>
    /// <item>Supported layouts: 8- or 16-bit grey (BlackIsZero, one sample), 8-bit RGB (three samples, or four with one
    /// extra sample), unsigned integers, one plane, strips (not tiles); compression none, LZW, Deflate or PackBits,
    /// predictor none or horizontal. Anything else is NotSupported, naming what the file declares.</item>
    /// <item>Every strip must lie within the file and decompress to at least the bytes of its rows: uncompressed strips
    /// by their byte count, compressed strips by running the decompressor with fixed buffers and counting what it
    /// gives (LZW and PackBits by their code structure, Deflate through zlib), so a truncated or corrupt strip is
    /// InvalidData here, where ImageSharp would fill the gap silently.</item>
    /// <item>ImageSharp decodes the pixels from our copy, with IFD 0's link to a next image cleared so that it decodes
    /// only the first image (it would otherwise decode every page).</item>
    /// </list>
    /// </summary>
    public sealed class TiffReader : IImageReader
    {
        private const int MaxEntries = 4096;
        /// <summary>The most values a tag may hold: far more strips than any accepted image has, far fewer than would cost memory.</summary>
        private const long MaxValues = 1 << 20;
        /// <summary>The tags this reader reads; every other entry is skipped unread.</summary>
        private static readonly HashSet<int> TagsRead = new HashSet<int> { 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 322, 324, 338, 339 };

        public string Format => "TIFF";
        public IReadOnlyCollection<string> Extensions { get; } = new[] { ".tif", ".tiff" };
        public int HeaderSize => 4;

        public bool Recognise(ReadOnlySpan<byte> head) =>
            head.Length >= 4 && ((head[0] == 'I' && head[1] == 'I' && (head[2] == 42 || head[2] == 43) && head[3] == 0)
                              || (head[0] == 'M' && head[1] == 'M' && head[2] == 0 && (head[3] == 42 || head[3] == 43)));

        public SourceImage Read(string path, ImageReadOptions options)
        {
            byte[] data;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
                data = ImageSharpDecoding.ReadWhole(stream, path, Format);
            var ifd = new Ifd(data, path);
            var layout = Layout.From(ifd, path, options);
            CheckStrips(data, layout, path);
            bool multiPage = ifd.NextIfdOffset != 0;
            ifd.ClearNextIfdOffset();
            var warnings = multiPage ? new[] { "Multi-page TIFF: the first image was used; the others were ignored." } : null;
            return ImageSharpDecoding.Decode(new MemoryStream(data, writable: false), new TiffDecoder { IgnoreMetadata = true }, path, Format, options, warnings);
        }

        private static CxasException Invalid(string path, string what) =>
            new CxasException(CxasErrorKind.InvalidData, $"'{path}' is a damaged TIFF file: {what}", path);

        private static CxasException Unsupported(string path, string what) =>
            new CxasException(CxasErrorKind.NotSupported, $"'{path}': {what}", path);

        /// <summary>IFD 0: its entries' values as unsigned integers, read in the file's byte order.</summary>
        private sealed class Ifd
        {
            private readonly byte[] _d;
            private readonly bool _big;
            private readonly string _path;
            private readonly Dictionary<int, long[]> _values = new Dictionary<int, long[]>();
            private readonly long _nextLinkAt;

            public Ifd(byte[] d, string path)
            {
                _d = d;
                _path = path;
                if (d.Length < 8) throw Invalid(path, $"it holds {d.Length} bytes, fewer than a TIFF header (8).");
                _big = d[0] == 'M';
                if (U16(2) == 43) throw Unsupported(path, "BigTIFF (64-bit offsets) is not supported.");
                if (U16(2) != 42) throw Invalid(path, "it does not start with a TIFF header.");
                long at = U32(4);
                if (at < 8 || at + 2 > d.Length) throw Invalid(path, $"its first IFD offset {at} lies outside the file ({d.Length} bytes): it is truncated.");
                int count = U16(at);
                if (count == 0 || count > MaxEntries) throw Invalid(path, $"its first IFD declares {count} entries.");
                _nextLinkAt = at + 2 + 12L * count;
                if (_nextLinkAt + 4 > d.Length) throw Invalid(path, "it is truncated inside its first IFD.");
                for (int i = 0; i < count; i++) ReadEntry(at + 2 + 12L * i);
                NextIfdOffset = U32(_nextLinkAt);
            }

            public long NextIfdOffset { get; }

            public void ClearNextIfdOffset()
            {
                for (int i = 0; i < 4; i++) _d[_nextLinkAt + i] = 0;
            }

            public long[]? Get(int tag) => _values.TryGetValue(tag, out var v) ? v : null;

            public long Single(int tag, long absent)
            {
                var v = Get(tag);
                if (v == null) return absent;
                if (v.Length != 1) throw Invalid(_path, $"tag {tag} holds {v.Length} values, not one.");
                return v[0];
            }

            private void ReadEntry(long at)
            {
                int tag = U16(at), type = U16(at + 2);
                if (!TagsRead.Contains(tag)) return;
                long count = U32(at + 4);
                int size = type switch { 1 or 6 or 7 => 1, 3 or 8 => 2, 4 or 9 or 13 => 4, _ => 0 };
                if (size == 0) throw Invalid(_path, $"tag {tag} has type {type}, not an integer type.");
                if (count == 0 || count > MaxValues) throw Invalid(_path, $"tag {tag} declares {count} values.");
                long start = count * size <= 4 ? at + 8 : U32(at + 8);
                if (start + count * size > _d.Length) throw Invalid(_path, $"the values of tag {tag} lie beyond the end of the file: it is truncated.");
                var values = new long[count];
                for (long i = 0; i < count; i++)
                    values[i] = size == 1 ? _d[start + i] : size == 2 ? U16(start + 2 * i) : U32(start + 4 * i);
                _values[tag] = values;
            }

            private int U16(long at) => _big ? (_d[at] << 8) | _d[at + 1] : _d[at] | (_d[at + 1] << 8);

            private long U32(long at) => _big
                ? ((long)_d[at] << 24) | ((long)_d[at + 1] << 16) | ((long)_d[at + 2] << 8) | _d[at + 3]
                : _d[at] | ((long)_d[at + 1] << 8) | ((long)_d[at + 2] << 16) | ((long)_d[at + 3] << 24);
        }

        /// <summary>What IFD 0 declares about the first image, checked against what this reader supports.</summary>
        private sealed class Layout
        {
            public long Width, Height, RowsPerStrip, RowBytes;
            public int Compression;
            public long[] Offsets = Array.Empty<long>(), Counts = Array.Empty<long>();

            public static Layout From(Ifd ifd, string path, ImageReadOptions options)
            {
                long width = ifd.Single(256, 0), height = ifd.Single(257, 0);
                options.Check(path, width, height);
                int samples = (int)ifd.Single(277, 1);
                var bits = ifd.Get(258) ?? new long[] { 1 };
                int photometric = (int)ifd.Single(262, -1);
                int compression = (int)ifd.Single(259, 1);
                int extra = ifd.Get(338)?.Length ?? 0;
                if (ifd.Get(322) != null || ifd.Get(324) != null) throw Unsupported(path, "tiled TIFF is not supported (strips only).");
                if (ifd.Single(284, 1) != 1) throw Unsupported(path, "TIFF with separate colour planes is not supported.");
                if (ifd.Single(266, 1) != 1) throw Unsupported(path, "TIFF with bits filled least significant first (FillOrder 2) is not supported.");
                foreach (var f in ifd.Get(339) ?? new long[] { 1 })
                    if (f != 1) throw Unsupported(path, $"TIFF sample format {f} is not supported (unsigned integers only).");
                if (bits.Length != samples) throw Invalid(path, $"BitsPerSample holds {bits.Length} values for {samples} samples per pixel.");
                int depth = (int)bits[0];
                foreach (var b in bits)
                    if (b != depth) throw Unsupported(path, "TIFF samples of different sizes are not supported.");
                bool grey = photometric == 1 && samples == 1 && (depth == 8 || depth == 16);
                bool rgb = photometric == 2 && depth == 8 && (samples == 3 || (samples == 4 && extra == 1));
                if (!grey && !rgb)
                    throw Unsupported(path, $"TIFF with photometric interpretation {(photometric < 0 ? "missing" : photometric.ToString())}, {samples} samples of {depth} bits is not supported " +
                                            "(8- or 16-bit grey, black is zero; 8-bit RGB).");
                if (compression != 1 && compression != 5 && compression != 8 && compression != 32946 && compression != 32773)
                    throw Unsupported(path, $"TIFF compression {compression} is not supported (none, LZW, Deflate, PackBits).");
                long predictor = ifd.Single(317, 1);
                if (predictor != 1 && predictor != 2) throw Unsupported(path, $"TIFF predictor {predictor} is not supported.");
                long rows = Math.Min(ifd.Single(278, height), height);
                if (rows <= 0) throw Invalid(path, "RowsPerStrip is 0.");
                var layout = new Layout
                {
                    Width = width, Height = height, RowsPerStrip = rows, RowBytes = width * samples * depth / 8, Compression = compression,
                    Offsets = ifd.Get(273) ?? throw Invalid(path, "it has no StripOffsets."),
                    Counts = ifd.Get(279) ?? throw Invalid(path, "it has no StripByteCounts."),
                };
                long strips = (height + rows - 1) / rows;
                if (layout.Offsets.Length != strips || layout.Counts.Length != strips)
                    throw Invalid(path, $"it declares {layout.Offsets.Length} strip offsets and {layout.Counts.Length} byte counts for {strips} strips.");
                return layout;
            }
        }

        private static void CheckStrips(byte[] data, Layout layout, string path)
        {
            var scratch = new byte[1 << 16];
            for (int i = 0; i < layout.Offsets.Length; i++)
            {
                long offset = layout.Offsets[i], count = layout.Counts[i];
                long rows = Math.Min(layout.RowsPerStrip, layout.Height - i * layout.RowsPerStrip);
                long need = rows * layout.RowBytes;
                if (offset + count > data.Length)
                    throw Invalid(path, $"strip {i} ({count} bytes at offset {offset}) lies beyond the end of the file ({data.Length} bytes): it is truncated.");
                long got = layout.Compression switch
                {
                    1 => count,
                    5 => LzwLength(data, (int)offset, (int)count, need),
                    32773 => PackBitsLength(data, (int)offset, (int)count, need),
                    _ => DeflateLength(data, (int)offset, (int)count, need, scratch),
                };
                if (got < 0) throw Invalid(path, $"strip {i} is corrupt: its compressed data cannot be decoded.");
                if (got < need) throw Invalid(path, $"strip {i} holds {got} bytes of pixel data, fewer than its {rows} rows need ({need}).");
            }
        }

        /// <summary>
        /// The bytes a TIFF LZW strip decodes to, up to <paramref name="need"/>, from its codes alone: each code's string
        /// length is tracked, never the strings. -1 for a code that cannot occur in a valid stream.
        /// </summary>
        private static long LzwLength(byte[] d, int start, int count, long need)
        {
            const int Clear = 256, End = 257;
            var length = new int[4096];
            for (int i = 0; i < 256; i++) length[i] = 1;
            long output = 0, bitPos = (long)start * 8, bitEnd = (long)(start + count) * 8;
            int next = 258, width = 9, previous = -1;
            while (output < need && bitPos + width <= bitEnd)
            {
                int code = 0;
                for (int b = 0; b < width; b++, bitPos++)
                    code = (code << 1) | ((d[bitPos >> 3] >> (7 - (int)(bitPos & 7))) & 1);
                if (code == Clear) { next = 258; width = 9; previous = -1; continue; }
                if (code == End) break;
                if (previous < 0)
                {
                    if (code > 255) return -1;
                }
                else
                {
                    if (code > next || next >= 4096) return -1;
                    length[next] = length[previous] + 1;
                    next++;
                    // "Early change": the code width grows one code before the table fills it.
                    if (next + 1 >= 1 << width && width < 12) width++;
                }
                output += length[code];
                previous = code;
            }
            return output;
        }

        /// <summary>The bytes a PackBits strip decodes to, up to <paramref name="need"/>; -1 for a run cut short.</summary>
        private static long PackBitsLength(byte[] d, int start, int count, long need)
        {
            long output = 0;
            int at = start, end = start + count;
            while (output < need && at < end)
            {
                int n = (sbyte)d[at++];
                if (n >= 0)
                {
                    if (at + n + 1 > end) return -1;
                    at += n + 1;
                    output += n + 1;
                }
                else if (n != -128)
                {
                    if (at >= end) return -1;
                    at++;
                    output += 1 - n;
                }
            }
            return output;
        }

        /// <summary>The bytes a zlib (Deflate) strip decodes to, up to <paramref name="need"/>; -1 for a corrupt stream.</summary>
        private static long DeflateLength(byte[] d, int start, int count, long need, byte[] scratch)
        {
            if (count < 2 || (d[start] & 0x0F) != 8 || ((d[start] << 8) | d[start + 1]) % 31 != 0) return -1;
            long output = 0;
            try
            {
                using var inflate = new DeflateStream(new MemoryStream(d, start + 2, count - 2, writable: false), CompressionMode.Decompress);
                int n;
                while (output < need && (n = inflate.Read(scratch, 0, scratch.Length)) > 0) output += n;
            }
            catch (InvalidDataException)
            {
                return -1;
            }
            return output;
        }
    }
}
