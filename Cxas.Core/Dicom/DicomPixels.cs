using Cxas.Imaging;

namespace Cxas.Dicom
{
    /// <summary>Stored pixel values of one frame: samples interleaved, BitsStored-masked and sign-extended.</summary>
    internal sealed record StoredFrame(int Width, int Height, int Samples, int[] Values, int BitsStored, bool Signed)
    {
        /// <summary>What decoding had to assume (e.g. a codestream's size taken from Rows and Columns).</summary>
        public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
    }

    /// <summary>The Image Pixel module's attributes, checked for consistency.</summary>
    internal sealed class PixelDescription
    {
        public int Rows, Columns, SamplesPerPixel, BitsAllocated, BitsStored, HighBit, PlanarConfiguration, Frames;
        public bool Signed;
        public string Photometric = "MONOCHROME2";
    }

    /// <summary>
    /// Extracts frame 0 of the pixel data and decodes it to stored values: native data here, encapsulated frames by the
    /// decoder <see cref="FrameDecoders"/> holds for the file's transfer syntax.
    /// Every buffer is sized from Rows x Columns only after that size has been checked against the read's <see cref="ImageReadOptions"/>
    /// and against what the pixel data's real byte count can hold.
    /// </summary>
    internal static class DicomPixels
    {
        public static PixelDescription Describe(DicomFile file)
        {
            var ds = file.Dataset;
            var path = file.Path;
            var d = new PixelDescription
            {
                Rows = ds.GetUShort(Tags.Rows) ?? 0,
                Columns = ds.GetUShort(Tags.Columns) ?? 0,
                SamplesPerPixel = ds.GetUShort(Tags.SamplesPerPixel) ?? 1,
                BitsAllocated = ds.GetUShort(Tags.BitsAllocated) ?? 0,
                PlanarConfiguration = ds.GetUShort(Tags.PlanarConfiguration) ?? 0,
                Signed = (ds.GetUShort(Tags.PixelRepresentation) ?? 0) == 1,
                Photometric = (ds.GetString(Tags.PhotometricInterpretation) ?? (((ds.GetUShort(Tags.SamplesPerPixel) ?? 1) == 3) ? "RGB" : "MONOCHROME2")).ToUpperInvariant(),
            };
            if (ds.Get(Tags.PixelData) == null)
            {
                if (ds.Contains(Tags.FloatPixelData) || ds.Contains(Tags.DoubleFloatPixelData))
                    throw Unsupported(path, "float pixel data is not supported.");
                throw Invalid(path, "it holds no pixel data (not an image).");
            }
            if (d.Rows == 0 || d.Columns == 0) throw Invalid(path, "Rows or Columns is missing or zero.");
            d.BitsStored = ds.GetUShort(Tags.BitsStored) ?? d.BitsAllocated;
            d.HighBit = ds.GetUShort(Tags.HighBit) ?? d.BitsStored - 1;
            var frames = ds.GetNumber(Tags.NumberOfFrames);
            d.Frames = frames.HasValue && frames.Value >= 1 && frames.Value < int.MaxValue ? (int)frames.Value : 1;
            if (d.SamplesPerPixel != 1 && d.SamplesPerPixel != 3) throw Unsupported(path, $"{d.SamplesPerPixel} samples per pixel are not supported.");
            if (d.BitsAllocated != 8 && d.BitsAllocated != 16 && d.BitsAllocated != 32)
                throw Unsupported(path, $"{d.BitsAllocated} bits allocated per sample are not supported (8, 16 or 32).");
            if (d.BitsStored < 1 || d.BitsStored > d.BitsAllocated || d.HighBit < d.BitsStored - 1 || d.HighBit >= d.BitsAllocated)
                throw Invalid(path, $"BitsStored {d.BitsStored} / HighBit {d.HighBit} do not fit BitsAllocated {d.BitsAllocated}.");
            if (d.BitsStored == 32 && !d.Signed) throw Unsupported(path, "unsigned 32-bit stored values are not supported.");
            return d;
        }

        /// <summary>Frame 0's stored values; a compressed frame goes to <paramref name="decoders"/>' decoder for its syntax (the built-in ones when null).</summary>
        public static StoredFrame DecodeFirstFrame(DicomFile file, PixelDescription d, ImageReadOptions? options = null, FrameDecoders? decoders = null)
        {
            var path = file.Path;
            var limits = options ?? ImageReadOptions.Default;
            var pixel = file.Dataset.Get(Tags.PixelData)!;
            int w = d.Columns, h = d.Rows, spp = d.SamplesPerPixel;
            long pixels = (long)w * h;
            Func<string, Exception> fail = m => Invalid(path, m);
            int[] values;
            bool fromCodec = false;
            IReadOnlyList<string> warnings = Array.Empty<string>();
            if (pixel.Fragments == null)
            {
                if (TransferSyntaxes.IsEncapsulated(file.TransferSyntax) && file.TransferSyntax != TransferSyntaxes.DeflatedExplicitLittle)
                    throw Invalid(path, $"its transfer syntax {file.TransferSyntax} needs encapsulated pixel data, but the pixel data is native.");
                values = ReadNative(file, pixel, d, limits, fail); // checks the declared size against the bytes present first
            }
            else
            {
                var frame = FirstFrameBytes(pixel, d.Frames, fail);
                // No codec here compresses beyond 4096:1 in practice; a declared size beyond that is a corrupt header,
                // and must not size an allocation.
                if (pixels * spp > FrameInput.CodecBound(frame.Count, limits))
                    throw fail($"it declares {w}x{h} pixels, far more than {frame.Count} compressed bytes can hold.");
                limits.Check(path, w, h);
                var decoder = (decoders ?? FrameDecoders.Default).For(file.TransferSyntax, path);
                var input = new FrameInput(path, frame, d, limits);
                values = decoder.Decode(input, out fromCodec);
                warnings = input.Warnings;
            }
            Mask(values, d, shiftHighBit: !fromCodec);
            return new StoredFrame(w, h, spp, values, d.BitsStored, d.Signed) { Warnings = warnings };
        }

        /// <summary>
        /// Native (uncompressed) frame 0 as stored values, samples interleaved. The layouts PS3.3 C.7.6.3.1 allows without
        /// compression: one sample per pixel (MONOCHROME1/2, PALETTE COLOR); three interleaved or planar (RGB, YBR_FULL);
        /// and YBR_FULL_422 (and the retired YBR_PARTIAL_422), whose chroma is halved horizontally: each pair of pixels is
        /// stored as Y1 Y2 Cb Cr, two samples per pixel. Those pairs are expanded here to Y Cb Cr per pixel, each pair's
        /// chroma given to both its pixels, as pydicom does.
        /// </summary>
        private static int[] ReadNative(DicomFile file, DicomElement pixel, PixelDescription d, ImageReadOptions limits, Func<string, Exception> fail)
        {
            int bytes = d.BitsAllocated / 8;
            long pixels = (long)d.Columns * d.Rows;
            int spp = d.SamplesPerPixel;
            bool pairs = IsHorizontally422(d);
            if (pairs && (pixels % 2 != 0 || d.PlanarConfiguration != 0))
                throw fail($"{d.Photometric} needs an even number of pixels stored pixel-interleaved (it has {d.Columns}x{d.Rows}, planar configuration {d.PlanarConfiguration}).");
            long stored = pairs ? pixels * 2 : pixels * spp;
            long frameBytes = stored * bytes;
            if (pixel.Length < frameBytes)
                throw fail($"its pixel data holds {pixel.Length} bytes, fewer than one {d.Columns}x{d.Rows} {d.Photometric} frame needs ({frameBytes}).");
            limits.Check(file.Path, d.Columns, d.Rows);
            if (d.Frames > 1 && pixel.Length < frameBytes * d.Frames)
                d.Frames = (int)(pixel.Length / frameBytes);
            var buf = pixel.Buffer;
            int o = pixel.Offset;
            bool big = pixel.BigEndian;
            // In big endian files, 8-bit data in an OW element is byte-swapped within each 16-bit word.
            bool swap8 = big && bytes == 1 && pixel.Vr == "OW";
            var values = new int[pixels * spp];
            for (long i = 0; i < stored; i++)
            {
                long at = o + i * bytes;
                int v;
                switch (bytes)
                {
                    case 1: v = buf[swap8 ? (at ^ 1) : at]; break;
                    case 2: v = big ? (buf[at] << 8) | buf[at + 1] : buf[at] | (buf[at + 1] << 8); break;
                    default:
                        v = big ? (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]
                                : buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24);
                        break;
                }
                if (pairs)
                {
                    // the four samples of the pair starting at pixel q: Y of q, Y of q+1, then Cb and Cr of both
                    long q = i / 4 * 2;
                    switch (i % 4)
                    {
                        case 0: values[q * 3] = v; break;
                        case 1: values[q * 3 + 3] = v; break;
                        default: values[q * 3 + i % 4 - 1] = v; values[q * 3 + i % 4 + 2] = v; break;
                    }
                }
                // sample s of pixel p sits at p*spp+s (interleaved) or s*pixels+p (planar)
                else values[d.PlanarConfiguration == 1 && spp > 1 ? (i % pixels) * spp + i / pixels : i] = v;
            }
            return values;
        }

        /// <summary>Whether native pixel data of this description holds horizontally subsampled chroma (two samples per pixel).</summary>
        private static bool IsHorizontally422(PixelDescription d) =>
            d.SamplesPerPixel == 3 && (d.Photometric == "YBR_FULL_422" || d.Photometric == "YBR_PARTIAL_422");

        /// <summary>Keeps the BitsStored bits ending at HighBit (native data) or the low BitsStored bits (decoded), sign-extending when signed.</summary>
        private static void Mask(int[] values, PixelDescription d, bool shiftHighBit)
        {
            int shift = shiftHighBit ? d.HighBit + 1 - d.BitsStored : 0;
            int bits = d.BitsStored;
            if (bits >= 32) return;
            uint mask = (1u << bits) - 1;
            uint sign = 1u << (bits - 1);
            for (int i = 0; i < values.Length; i++)
            {
                uint v = ((uint)values[i] >> shift) & mask;
                values[i] = d.Signed && (v & sign) != 0 ? (int)(v | ~mask) : (int)v;
            }
        }

        /// <summary>Frame 0's compressed bytes: from the offset table, or the fragments up to the first complete frame.</summary>
        private static ArraySegment<byte> FirstFrameBytes(DicomElement pixel, int frames, Func<string, Exception> fail)
        {
            var fragments = pixel.Fragments!;
            if (fragments.Count == 0) throw fail("its encapsulated pixel data holds no fragments.");
            var parts = new List<ArraySegment<byte>>();
            if (frames <= 1) parts.AddRange(fragments);
            else
            {
                var bot = pixel.OffsetTable;
                if (bot.HasValue && bot.Value.Count >= 8)
                {
                    var b = bot.Value;
                    uint second = (uint)(b.Array![b.Offset + 4] | (b.Array[b.Offset + 5] << 8) | (b.Array[b.Offset + 6] << 16) | (b.Array[b.Offset + 7] << 24));
                    long position = 0;
                    foreach (var f in fragments)
                    {
                        if (position >= second) break;
                        parts.Add(f);
                        position += f.Count + 8;
                    }
                }
                else if (fragments.Count == frames) parts.Add(fragments[0]);
                else
                {
                    // No offset table: a frame ends with the fragment holding its end marker (FFD9, possibly padded).
                    foreach (var f in fragments)
                    {
                        parts.Add(f);
                        if (EndsWithEoi(f)) break;
                    }
                }
            }
            if (parts.Count == 1) return parts[0];
            long total = 0;
            foreach (var p in parts) total += p.Count;
            var joined = new byte[total];
            int at = 0;
            foreach (var p in parts)
            {
                Buffer.BlockCopy(p.Array!, p.Offset, joined, at, p.Count);
                at += p.Count;
            }
            return new ArraySegment<byte>(joined);
        }

        private static bool EndsWithEoi(ArraySegment<byte> f)
        {
            for (int i = f.Count - 2; i >= Math.Max(0, f.Count - 4); i--)
                if (f.Array![f.Offset + i] == 0xFF && f.Array[f.Offset + i + 1] == 0xD9) return true;
            return false;
        }

        internal static CxasException Invalid(string path, string message) =>
            new CxasException(CxasErrorKind.InvalidData, $"'{path}' is not a valid DICOM image: {message}", path);

        internal static CxasException Unsupported(string path, string message) =>
            new CxasException(CxasErrorKind.NotSupported, $"'{path}': {message}", path);
    }
}
