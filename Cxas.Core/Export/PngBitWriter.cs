using System.IO.Compression;
using System.Text;
using Cxas.IO;

namespace Cxas.Export
{
    /// <summary>Writes 1-bit greyscale PNGs row by row (no full-image buffer), with a zlib stream built on Deflate.</summary>
    internal static class PngBitWriter
    {
        /// <summary>
        /// Writes a 1-bit grey PNG whose rows come already packed (most significant bit first, (width+7)/8 bytes):
        /// <paramref name="fillPackedRow"/> receives y and the row buffer. Identical consecutive rows are not refilled
        /// when the caller leaves the buffer as it was.
        /// </summary>
        public static void WritePacked(Stream output, int width, int height, Action<int, byte[]> fillPackedRow)
        {
            output.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, 0, 8);
            var ihdr = new byte[13];
            WriteBigEndian(ihdr, 0, (uint)width);
            WriteBigEndian(ihdr, 4, (uint)height);
            ihdr[8] = 1;  // bit depth
            ihdr[9] = 0;  // greyscale
            WriteChunk(output, "IHDR", ihdr, ihdr.Length);

            int stride = (width + 7) / 8;
            var row = new byte[stride];
            uint adler = Checksums.AdlerStart;
            using (var compressed = new MemoryStream())
            {
                compressed.WriteByte(0x78);
                compressed.WriteByte(0x9C);
                var filter = new byte[1]; // filter type 0 (None) before every row
                using (var deflate = new DeflateStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                {
                    for (int y = 0; y < height; y++)
                    {
                        fillPackedRow(y, row);
                        deflate.Write(filter, 0, 1);
                        deflate.Write(row, 0, stride);
                        adler = Checksums.UpdateAdler(adler, filter, 0, 1);
                        adler = Checksums.UpdateAdler(adler, row, 0, stride);
                    }
                }
                var adlerBytes = new byte[4];
                WriteBigEndian(adlerBytes, 0, adler);
                compressed.Write(adlerBytes, 0, 4);
                var data = compressed.GetBuffer();
                int length = (int)compressed.Length;
                const int chunk = 1 << 18;
                for (int offset = 0; offset < length; offset += chunk)
                {
                    int n = Math.Min(chunk, length - offset);
                    var part = new byte[n];
                    Buffer.BlockCopy(data, offset, part, 0, n);
                    WriteChunk(output, "IDAT", part, n);
                }
            }
            WriteChunk(output, "IEND", Array.Empty<byte>(), 0);
        }

        private static void WriteChunk(Stream output, string type, byte[] data, int length)
        {
            var header = new byte[8];
            WriteBigEndian(header, 0, (uint)length);
            Encoding.ASCII.GetBytes(type, 0, 4, header, 4);
            output.Write(header, 0, 8);
            output.Write(data, 0, length);
            uint crc = Checksums.UpdateCrc(Checksums.UpdateCrc(Checksums.CrcStart, header, 4, 4), data, 0, length);
            var tail = new byte[4];
            WriteBigEndian(tail, 0, Checksums.CrcResult(crc));
            output.Write(tail, 0, 4);
        }

        private static void WriteBigEndian(byte[] buffer, int offset, uint value)
        {
            buffer[offset] = (byte)(value >> 24);
            buffer[offset + 1] = (byte)(value >> 16);
            buffer[offset + 2] = (byte)(value >> 8);
            buffer[offset + 3] = (byte)value;
        }
    }
}
