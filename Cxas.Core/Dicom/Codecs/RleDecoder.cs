
namespace Cxas.Dicom.Codecs
{
    /// <summary>
    /// DICOM RLE Lossless (PS3.5 annex G): a 64-byte header of up to 15 segment offsets, then one PackBits segment per
    /// byte plane, most significant byte first, sample by sample. Output is the native little-endian layout, samples
    /// planar (as RLE stores them): for 16-bit data, two bytes per sample.
    /// </summary>
    internal static class RleDecoder
    {
        /// <summary>The RLE Lossless transfer syntax, for <see cref="FrameDecoders"/>.</summary>
        public static FrameDecoder FrameDecoder { get; } = new RleFrameDecoder();

        /// <summary>Byte planes back to native values, which still sit where HighBit puts them.</summary>
        private sealed class RleFrameDecoder : FrameDecoder
        {
            public RleFrameDecoder() : base(new TransferSyntax(TransferSyntaxes.Rle, "RLE Lossless")) { }

            public override int[] Decode(FrameInput input, out bool lowBitsAligned)
            {
                var d = input.Description;
                int spp = d.SamplesPerPixel, bytes = d.BitsAllocated / 8;
                long pixels = input.Pixels;
                // PackBits expands at most 64-fold (2 bytes -> 128).
                if (pixels * spp * bytes > 64L * input.Bytes.Count + 64) throw input.Fail("the RLE frame is far too short for the declared image size.");
                var raw = new byte[pixels * spp * bytes];
                RleDecoder.Decode(input.Bytes, (int)pixels, spp, bytes, raw, input.Fail);
                var values = new int[pixels * spp];
                for (long i = 0; i < pixels; i++)
                    for (int s = 0; s < spp; s++)
                    {
                        long at = (s * pixels + i) * bytes;
                        uint v = 0;
                        for (int b = bytes - 1; b >= 0; b--) v = (v << 8) | raw[at + b];
                        values[i * spp + s] = (int)v;
                    }
                lowBitsAligned = false;
                return values;
            }
        }

        /// <summary>Decodes one frame into <paramref name="output"/> (rows*cols*samples*bytesPerSample bytes, planar).</summary>
        public static void Decode(ReadOnlySpan<byte> frame, int pixels, int samples, int bytesPerSample, byte[] output, Func<string, Exception> fail)
        {
            if (frame.Length < 64) throw fail("an RLE frame is shorter than its 64-byte header.");
            int segments = (int)ReadU32(frame, 0);
            int expected = samples * bytesPerSample;
            if (segments != expected) throw fail($"the RLE header declares {segments} segments where {expected} are needed.");
            var offsets = new int[segments + 1];
            for (int i = 0; i < segments; i++)
            {
                uint o = ReadU32(frame, 4 + 4 * i);
                if (o < 64 || o > (uint)frame.Length) throw fail($"RLE segment {i + 1} starts outside its frame.");
                offsets[i] = (int)o;
                if (i > 0 && offsets[i] < offsets[i - 1]) throw fail("RLE segment offsets are not increasing.");
            }
            offsets[segments] = frame.Length;
            var plane = new byte[pixels];
            for (int s = 0; s < segments; s++)
            {
                int sample = s / bytesPerSample;
                int byteIndex = bytesPerSample - 1 - (s % bytesPerSample); // first segment = most significant byte
                int filled = UnpackBits(frame.Slice(offsets[s], offsets[s + 1] - offsets[s]), plane);
                if (filled < pixels) throw fail($"RLE segment {s + 1} holds {filled} of {pixels} bytes.");
                int baseIndex = sample * pixels * bytesPerSample;
                for (int i = 0; i < pixels; i++) output[baseIndex + i * bytesPerSample + byteIndex] = plane[i];
            }
        }

        /// <summary>PackBits: n in 0..127 copies n+1 literal bytes, n in -127..-1 repeats the next byte 1-n times, -128 is a no-op.</summary>
        private static int UnpackBits(ReadOnlySpan<byte> src, byte[] dst)
        {
            int i = 0, o = 0;
            while (i < src.Length && o < dst.Length)
            {
                sbyte n = (sbyte)src[i++];
                if (n >= 0)
                {
                    int count = Math.Min(n + 1, Math.Min(src.Length - i, dst.Length - o));
                    src.Slice(i, count).CopyTo(new Span<byte>(dst, o, count));
                    i += n + 1;
                    o += count;
                }
                else if (n != -128)
                {
                    if (i >= src.Length) break;
                    byte v = src[i++];
                    int count = Math.Min(1 - n, dst.Length - o);
                    new Span<byte>(dst, o, count).Fill(v);
                    o += count;
                }
            }
            return o;
        }

        private static uint ReadU32(ReadOnlySpan<byte> b, int at) => (uint)(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24));
    }
}
