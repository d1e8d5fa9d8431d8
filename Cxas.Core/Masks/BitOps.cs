namespace Cxas.Masks
{
    /// <summary>Bit counting on 64-bit words (netstandard2.0 has no BitOperations).</summary>
    internal static class BitOps
    {
        internal static int PopCount(ulong v)
        {
            v -= (v >> 1) & 0x5555555555555555UL;
            v = (v & 0x3333333333333333UL) + ((v >> 2) & 0x3333333333333333UL);
            v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FUL;
            return (int)((v * 0x0101010101010101UL) >> 56);
        }

        internal static int TrailingZeros(ulong v)
        {
            if (v == 0) return 64;
            int n = 0;
            if ((v & 0xFFFFFFFFUL) == 0) { n += 32; v >>= 32; }
            if ((v & 0xFFFFUL) == 0) { n += 16; v >>= 16; }
            if ((v & 0xFFUL) == 0) { n += 8; v >>= 8; }
            if ((v & 0xFUL) == 0) { n += 4; v >>= 4; }
            if ((v & 0x3UL) == 0) { n += 2; v >>= 2; }
            if ((v & 0x1UL) == 0) n += 1;
            return n;
        }

        internal static int LeadingZeros(ulong v)
        {
            if (v == 0) return 64;
            int n = 0;
            if ((v & 0xFFFFFFFF00000000UL) == 0) { n += 32; v <<= 32; }
            if ((v & 0xFFFF000000000000UL) == 0) { n += 16; v <<= 16; }
            if ((v & 0xFF00000000000000UL) == 0) { n += 8; v <<= 8; }
            if ((v & 0xF000000000000000UL) == 0) { n += 4; v <<= 4; }
            if ((v & 0xC000000000000000UL) == 0) { n += 2; v <<= 2; }
            if ((v & 0x8000000000000000UL) == 0) n += 1;
            return n;
        }
    }
}
