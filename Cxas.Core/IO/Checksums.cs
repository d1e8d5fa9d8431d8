namespace Cxas.IO
{
    /// <summary>The two checksums of PNG: CRC-32 (ISO 3309, over each chunk's type and data) and zlib's Adler-32.</summary>
    internal static class Checksums
    {
        private static readonly uint[] CrcTable = BuildCrcTable();

        /// <summary>CRC-32 register before any byte; <see cref="CrcResult"/> gives the checksum.</summary>
        public const uint CrcStart = 0xFFFFFFFF;

        public static uint CrcResult(uint register) => register ^ 0xFFFFFFFF;

        public static uint UpdateCrc(uint register, byte[] data, int offset, int count)
        {
            for (int i = offset, end = offset + count; i < end; i++) register = CrcTable[(register ^ data[i]) & 0xFF] ^ (register >> 8);
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

        private static uint[] BuildCrcTable()
        {
            var table = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
                table[n] = c;
            }
            return table;
        }
    }
}
