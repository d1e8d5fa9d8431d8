namespace Cxas.Dicom.Codecs
{
    /// <summary>
    /// JPEG 2000 frames (.90, .91): OpenJPEG decodes the codestream; when it cannot, and the codestream's SIZ marker
    /// gives an image size other than Rows x Columns, the frame is decoded once more with SIZ's size taken from Rows
    /// and Columns, and the image carries a warning saying so.
    /// <para>Why: PS3.5 8.2.4 requires the codestream and the Image Pixel attributes to agree, and a frame whose only
    /// damage is its SIZ size (pydicom's JPEG2000-embedded-sequence-delimiter.dcm: four bytes of Rsiz and Xsiz
    /// overwritten by a Sequence Delimiter tag, 65536 times too many tiles) otherwise decodes exactly. A codestream that
    /// still fails, or whose size already agrees, keeps OpenJPEG's error.</para>
    /// </summary>
    internal sealed class Jpeg2000Frames : CodecFrameDecoder
    {
        public Jpeg2000Frames() : base(
            new TransferSyntax(TransferSyntaxes.Jpeg2000Lossless, "JPEG 2000 Image Compression (Lossless Only)"),
            new TransferSyntax(TransferSyntaxes.Jpeg2000, "JPEG 2000 Image Compression"))
        {
        }

        public override string? Unavailable => OpenJpeg.Available ? null : OpenJpeg.InstallHint;

        // A raw codestream: SOC (FF4F), then SIZ (FF51) with Lsiz, Rsiz, then Xsiz, Ysiz, XOsiz, YOsiz (32-bit, big endian).
        private const int Xsiz = 8, Ysiz = 12, XOsiz = 16, YOsiz = 20;

        protected override DecodedFrame DecodeFrame(FrameInput input)
        {
            var b = input.Bytes;
            try
            {
                return OpenJpeg.Decode(b.Array!, b.Offset, b.Count, input.MaxCodecSamples, input.Fail, input.Unsupported);
            }
            catch (CxasException) when (SizDisagrees(b.AsSpan(), input.Description))
            {
                var fixedStream = b.AsSpan().ToArray();
                var d = input.Description;
                var h = new ReadOnlySpan<byte>(fixedStream);
                long width = Read32(h, Xsiz) - Read32(h, XOsiz), height = Read32(h, Ysiz) - Read32(h, YOsiz);
                Write32(fixedStream, Xsiz, Read32(h, XOsiz) + d.Columns);
                Write32(fixedStream, Ysiz, Read32(h, YOsiz) + d.Rows);
                var frame = OpenJpeg.Decode(fixedStream, 0, fixedStream.Length, input.MaxCodecSamples, input.Fail, input.Unsupported);
                input.Warnings.Add($"The JPEG 2000 codestream declares a {width}x{height} image that cannot be decoded; it was decoded as the {d.Columns}x{d.Rows} that Rows and Columns state.");
                return frame;
            }
        }

        /// <summary>Whether <paramref name="b"/> is a raw codestream whose SIZ image size is not Columns x Rows (with room for it after the offsets).</summary>
        private static bool SizDisagrees(ReadOnlySpan<byte> b, PixelDescription d)
        {
            if (b.Length < YOsiz + 4 || b[0] != 0xFF || b[1] != 0x4F || b[2] != 0xFF || b[3] != 0x51) return false;
            long xo = Read32(b, XOsiz), yo = Read32(b, YOsiz);
            if (xo + d.Columns > uint.MaxValue || yo + d.Rows > uint.MaxValue) return false;
            return Read32(b, Xsiz) - xo != d.Columns || Read32(b, Ysiz) - yo != d.Rows;
        }

        private static long Read32(ReadOnlySpan<byte> b, int at) => (long)(uint)((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);

        private static void Write32(byte[] b, int at, long v)
        {
            b[at] = (byte)(v >> 24);
            b[at + 1] = (byte)(v >> 16);
            b[at + 2] = (byte)(v >> 8);
            b[at + 3] = (byte)v;
        }
    }
}
