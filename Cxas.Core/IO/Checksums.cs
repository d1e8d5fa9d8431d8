namespace Cxas.IO
{
    /// <summary>The two checksums of PNG: CRC-32 (ISO 3309, over each chunk's type and data) and zlib's Adler-32.</summary>
    internal static class Checksums
    {
        private static readonly uint[] CrcTable = BuildCrcTable();

        /// <summary>CRC-32 register before any byte; <see cref="CrcResult"/> gives the checksum.</summary>
        public const uint CrcStart = 0xFFFFFFFF;

        public static uint CrcResult(uint register) => register ^ 0xFFFFFFFF;

        /// <summary>
        /// Eight bytes a step ("slicing by 8": table k holds the effect of a byte followed by k zero bytes, so the eight
        /// lookups of a step are independent), then byte by byte: about four times the speed of the byte loop, which
        /// matters for checking every entry of a 300 MB checkpoint.
        /// </summary>
        public static uint UpdateCrc(uint register, byte[] data, int offset, int count)
        {
            var t = CrcTable;
            int i = offset, end = offset + count;
            for (; end - i >= 8; i += 8)
            {
                uint low = register ^ (uint)(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24);
                uint high = (uint)(data[i + 4] | data[i + 5] << 8 | data[i + 6] << 16 | data[i + 7] << 24);
                register = t[7 * 256 + (low & 0xFF)] ^ t[6 * 256 + ((low >> 8) & 0xFF)] ^ t[5 * 256 + ((low >> 16) & 0xFF)] ^ t[4 * 256 + (low >> 24)]
                         ^ t[3 * 256 + (high & 0xFF)] ^ t[2 * 256 + ((high >> 8) & 0xFF)] ^ t[256 + ((high >> 16) & 0xFF)] ^ t[high >> 24];
            }
            for (; i < end; i++) register = t[(register ^ data[i]) & 0xFF] ^ (register >> 8);
            return register;
        }

        /// <summary>Adler-32 of nothing; the value is (b &lt;&lt; 16) | a.</summary>
        public const uint AdlerStart = 1;

        public static uint UpdateAdler(uint adler, byte[] data, int offset, int count)
        {
            uint a = adler & 0xFFFF, b = adler >> 16;
            while (count > 0)
            {
                int n = count < 5552 ? count : 5552; // the most bytes before the sums can overflow 32 bits
                count -= n;
                for (int end = offset + n; offset < end; offset++)
                {
                    a += data[offset];
                    b += a;
                }
                a %= 65521;
                b %= 65521;
            }
            return (b << 16) | a;
        }

        /// <summary>Eight tables of 256 in one array: the byte table, then each the one before followed by a zero byte.</summary>
        private static uint[] BuildCrcTable()
        {
            var table = new uint[8 * 256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
                table[n] = c;
            }
            for (int k = 1; k < 8; k++)
                for (int n = 0; n < 256; n++)
                {
                    uint previous = table[(k - 1) * 256 + n];
                    table[k * 256 + n] = (previous >> 8) ^ table[previous & 0xFF];
                }
            return table;
        }
    }
}
