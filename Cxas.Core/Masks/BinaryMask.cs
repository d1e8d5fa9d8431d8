
namespace Cxas.Masks
{
    /// <summary>One class's mask at full image resolution, bit-packed (64 pixels per word, rows padded to a word).</summary>
    public sealed class BinaryMask
    {
        private readonly ulong[] _bits;

        public BinaryMask(int width, int height)
        {
            if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width));
            Width = width;
            Height = height;
            WordsPerRow = (width + 63) >> 6;
            _bits = new ulong[checked((long)WordsPerRow * height)];
        }

        public int Width { get; }
        public int Height { get; }
        public int WordsPerRow { get; }

        public bool this[int x, int y]
        {
            get => (_bits[y * WordsPerRow + (x >> 6)] & (1UL << (x & 63))) != 0;
            set
            {
                ref ulong w = ref _bits[y * WordsPerRow + (x >> 6)];
                if (value) w |= 1UL << (x & 63); else w &= ~(1UL << (x & 63));
            }
        }

        /// <summary>The packed words of row <paramref name="y"/>; bit (x &amp; 63) of word (x &gt;&gt; 6) is pixel x.</summary>
        public Span<ulong> Row(int y) => new Span<ulong>(_bits, y * WordsPerRow, WordsPerRow);

        public long Count()
        {
            long n = 0;
            foreach (var w in _bits) n += BitOps.PopCount(w);
            return n;
        }

        public bool IsEmpty()
        {
            foreach (var w in _bits) if (w != 0) return false;
            return true;
        }
    }
}
