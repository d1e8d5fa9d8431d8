using Cxas.Imaging;

namespace Cxas.Masks
{
    /// <summary>
    /// All classes' masks for one image. The reference thresholds at the model's resolution and resizes each mask to the
    /// image size with nearest-neighbour sampling, so every full-resolution mask is exactly determined by its
    /// model-resolution bits and the two index maps. Only those bits are stored (159 classes at 512x512 take 5 MB,
    /// whatever the image size); rows, pixels and whole masks at full resolution are produced on demand.
    /// </summary>
    public sealed class MaskSet
    {
        private readonly ulong[][] _planes;       // per class, GridWidth x GridHeight bits, rows padded to words
        private readonly int[] _rowMap;           // image row -> grid row
        private readonly int[] _colMap;           // image column -> grid column
        private readonly long[] _rowWeight;       // image rows per grid row
        private readonly long[] _colWeight;       // image columns per grid column
        private long[]? _pixelCounts;

        public MaskSet(IReadOnlyList<string> labels, int gridWidth, int gridHeight, int width, int height)
        {
            Labels = labels;
            GridWidth = gridWidth;
            GridHeight = gridHeight;
            Width = width;
            Height = height;
            GridWordsPerRow = (gridWidth + 63) >> 6;
            _planes = new ulong[labels.Count][];
            for (int c = 0; c < labels.Count; c++) _planes[c] = new ulong[GridWordsPerRow * gridHeight];
            _rowMap = NearestIndex.Map(gridHeight, height);
            _colMap = NearestIndex.Map(gridWidth, width);
            _rowWeight = new long[gridHeight];
            _colWeight = new long[gridWidth];
            foreach (var r in _rowMap) _rowWeight[r]++;
            foreach (var c in _colMap) _colWeight[c]++;
        }

        public IReadOnlyList<string> Labels { get; }
        public int Count => Labels.Count;
        /// <summary>Full image size.</summary>
        public int Width { get; }
        public int Height { get; }
        /// <summary>Model output size the masks were thresholded at.</summary>
        public int GridWidth { get; }
        public int GridHeight { get; }
        internal int GridWordsPerRow { get; }

        /// <summary>
        /// Sets grid bits of every class from logits [C, GridHeight, GridWidth]: present where logit &gt; cut. Internal: the
        /// segmenter fills a new set once, before any result holds it, so a result's masks never change afterwards.
        /// </summary>
        internal void SetFromLogits(ReadOnlySpan<float> logits, float cut)
        {
            int plane = GridWidth * GridHeight;
            if (logits.Length != plane * Count) throw new ArgumentException("Logit count does not match the mask grid.", nameof(logits));
            for (int c = 0; c < Count; c++)
            {
                var bits = _planes[c];
                Array.Clear(bits, 0, bits.Length);
                var src = logits.Slice(c * plane, plane);
                for (int y = 0; y < GridHeight; y++)
                {
                    int o = y * GridWidth, w = y * GridWordsPerRow;
                    for (int x = 0; x < GridWidth; x++)
                        if (src[o + x] > cut) bits[w + (x >> 6)] |= 1UL << (x & 63);
                }
            }
            _pixelCounts = null;
        }

        /// <summary>Grid bit of class c at grid position (gx, gy).</summary>
        public bool GridBit(int c, int gx, int gy) => (_planes[c][gy * GridWordsPerRow + (gx >> 6)] & (1UL << (gx & 63))) != 0;

        /// <summary>The grid bits of class c, rows padded to 64-bit words (the transfer form copies them as they are).</summary>
        internal ulong[] Plane(int c) => _planes[c];

        /// <summary>Marks the cached pixel counts stale after planes were filled directly.</summary>
        internal void PlanesChanged() => _pixelCounts = null;

        internal void SetGridBit(int c, int gx, int gy, bool value)
        {
            ref ulong w = ref _planes[c][gy * GridWordsPerRow + (gx >> 6)];
            if (value) w |= 1UL << (gx & 63); else w &= ~(1UL << (gx & 63));
            _pixelCounts = null;
        }

        /// <summary>Full-resolution pixel of class c.</summary>
        public bool this[int c, int x, int y] => GridBit(c, _colMap[x], _rowMap[y]);

        /// <summary>Grid row that image row y was sampled from.</summary>
        public int GridRowOf(int y) => _rowMap[y];
        public int GridColumnOf(int x) => _colMap[x];

        public int IndexOf(string label)
        {
            for (int i = 0; i < Labels.Count; i++)
                if (string.Equals(Labels[i], label, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }

        /// <summary>Full-resolution row y of class c as bytes (0 or <paramref name="on"/>).</summary>
        public void GetRow(int c, int y, Span<byte> destination, byte on = 1)
        {
            var bits = _planes[c];
            int w = _rowMap[y] * GridWordsPerRow;
            for (int x = 0; x < Width; x++)
            {
                int gx = _colMap[x];
                destination[x] = (bits[w + (gx >> 6)] & (1UL << (gx & 63))) != 0 ? on : (byte)0;
            }
        }

        /// <summary>
        /// Full-resolution row y of class c packed most-significant-bit first ((Width+7)/8 bytes, as PNG stores
        /// 1-bit rows). Returns false, leaving the buffer untouched, when row y comes from the same grid row as
        /// <paramref name="previousY"/> (the buffer then already holds it).
        /// <para>
        /// The row is built from runs, not pixels: each run of set grid bits gx0..gx1 covers the image columns
        /// [first column of gx0, first column of gx1 + 1) (the nearest map is monotonic), set a byte at a time.
        /// </para>
        /// </summary>
        public bool GetPackedRowMsb(int c, int y, byte[] destination, int previousY = -1)
        {
            int gy = _rowMap[y];
            if (previousY >= 0 && _rowMap[previousY] == gy) return false;
            var bits = _planes[c];
            int w = gy * GridWordsPerRow;
            Array.Clear(destination, 0, (Width + 7) >> 3);
            var first = FirstColumns();
            int gx = 0;
            while (gx < GridWidth)
            {
                gx = NextBit(bits, w, gx, set: true);
                if (gx >= GridWidth) break;
                int end = Math.Min(GridWidth, NextBit(bits, w, gx, set: false));
                SetRange(destination, first[gx], first[end]);
                gx = end;
            }
            return true;
        }

        /// <summary>The per-pixel form of <see cref="GetPackedRowMsb"/>, kept as its test oracle.</summary>
        internal void GetPackedRowMsbPerPixel(int c, int y, byte[] destination)
        {
            var bits = _planes[c];
            int w = _rowMap[y] * GridWordsPerRow;
            Array.Clear(destination, 0, (Width + 7) >> 3);
            for (int x = 0; x < Width; x++)
            {
                int gx = _colMap[x];
                if ((bits[w + (gx >> 6)] & (1UL << (gx & 63))) != 0) destination[x >> 3] |= (byte)(0x80 >> (x & 7));
            }
        }

        private int[]? _firstColumn;

        /// <summary>For each grid column g (and g = GridWidth), the first image column whose grid column is g or more.</summary>
        private int[] FirstColumns()
        {
            if (_firstColumn != null) return _firstColumn;
            var first = new int[GridWidth + 1];
            int x = 0;
            for (int g = 0; g <= GridWidth; g++)
            {
                while (x < Width && _colMap[x] < g) x++;
                first[g] = x;
            }
            return _firstColumn = first;
        }

        /// <summary>The first grid column at or after <paramref name="from"/> whose bit is <paramref name="set"/> (GridWidth or more when none).</summary>
        private int NextBit(ulong[] bits, int rowStart, int from, bool set)
        {
            int k = from >> 6;
            ulong word = bits[rowStart + k];
            if (!set) word = ~word;
            word &= ~0UL << (from & 63);
            while (word == 0)
            {
                if (++k >= GridWordsPerRow) return GridWidth;
                word = set ? bits[rowStart + k] : ~bits[rowStart + k];
            }
            return (k << 6) + BitOps.TrailingZeros(word);
        }

        /// <summary>Sets bits [from, to) of an MSB-first packed row.</summary>
        private static void SetRange(byte[] row, int from, int to)
        {
            if (from >= to) return;
            int a = from >> 3, b = (to - 1) >> 3;
            byte head = (byte)(0xFF >> (from & 7));
            byte tail = (byte)(0xFF << (7 - ((to - 1) & 7)));
            if (a == b) { row[a] |= (byte)(head & tail); return; }
            row[a] |= head;
            for (int i = a + 1; i < b; i++) row[i] = 0xFF;
            row[b] |= tail;
        }

        /// <summary>Full-resolution pixel counts of every class (computed once from the grid and the weights).</summary>
        public IReadOnlyList<long> PixelCounts
        {
            get
            {
                if (_pixelCounts != null) return _pixelCounts;
                var counts = new long[Count];
                for (int c = 0; c < Count; c++)
                {
                    var bits = _planes[c];
                    long total = 0;
                    for (int gy = 0; gy < GridHeight; gy++)
                    {
                        long rowWeight = _rowWeight[gy];
                        if (rowWeight == 0) continue;
                        long rowSum = 0;
                        int o = gy * GridWordsPerRow;
                        for (int k = 0; k < GridWordsPerRow; k++)
                        {
                            ulong word = bits[o + k];
                            while (word != 0)
                            {
                                int bit = BitOps.TrailingZeros(word);
                                rowSum += _colWeight[(k << 6) + bit];
                                word &= word - 1;
                            }
                        }
                        total += rowSum * rowWeight;
                    }
                    counts[c] = total;
                }
                return _pixelCounts = counts;
            }
        }

        /// <summary>Class c at full resolution, bit-packed.</summary>
        public BinaryMask GetMask(int c)
        {
            if (c < 0 || c >= Count) throw new ArgumentOutOfRangeException(nameof(c));
            var mask = new BinaryMask(Width, Height);
            var bits = _planes[c];
            int previousGridRow = -1;
            Span<ulong> previous = default;
            for (int y = 0; y < Height; y++)
            {
                var row = mask.Row(y);
                int gy = _rowMap[y];
                if (gy == previousGridRow)
                {
                    previous.CopyTo(row);
                    continue;
                }
                int w = gy * GridWordsPerRow;
                for (int x = 0; x < Width; x++)
                {
                    int gx = _colMap[x];
                    if ((bits[w + (gx >> 6)] & (1UL << (gx & 63))) != 0) row[x >> 6] |= 1UL << (x & 63);
                }
                previousGridRow = gy;
                previous = row;
            }
            return mask;
        }

        public BinaryMask GetMask(string label)
        {
            int c = IndexOf(label);
            if (c < 0) throw new CxasException(CxasErrorKind.InvalidArgument, $"Label '{label}' is not one of this model's {Count} classes.");
            return GetMask(c);
        }

        /// <summary>
        /// Column-major run lengths of class c at full resolution, starting with a (possibly zero) run of background,
        /// as COCO's uncompressed RLE wants them.
        /// </summary>
        public List<long> ColumnMajorRuns(int c)
        {
            var runs = new List<long>();
            var bits = _planes[c];
            bool current = false;
            long length = 0;
            for (int x = 0; x < Width; x++)
            {
                int gx = _colMap[x];
                int word = gx >> 6;
                ulong bit = 1UL << (gx & 63);
                int gy = 0;
                while (gy < GridHeight)
                {
                    bool v = (bits[gy * GridWordsPerRow + word] & bit) != 0;
                    long rows = 0;
                    while (gy < GridHeight && ((bits[gy * GridWordsPerRow + word] & bit) != 0) == v)
                    {
                        rows += _rowWeight[gy];
                        gy++;
                    }
                    if (rows == 0) continue;
                    if (v == current) length += rows;
                    else
                    {
                        runs.Add(length);
                        current = v;
                        length = rows;
                    }
                }
            }
            runs.Add(length);
            return runs;
        }

        /// <summary>Bounding box of class c at full resolution (x0, y0, width, height), or null when empty.</summary>
        public (int X, int Y, int Width, int Height)? BoundingBox(int c)
        {
            int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
            for (int x = 0; x < Width; x++)
            {
                int gx = _colMap[x];
                for (int gy = 0; gy < GridHeight; gy++)
                {
                    if (_rowWeight[gy] == 0 || !GridBit(c, gx, gy)) continue;
                    if (x < minX) minX = x;
                    maxX = x;
                    break;
                }
            }
            if (maxX < 0) return null;
            for (int y = 0; y < Height; y++)
            {
                int gy = _rowMap[y];
                for (int gx = 0; gx < GridWidth; gx++)
                {
                    if (_colWeight[gx] == 0 || !GridBit(c, gx, gy)) continue;
                    if (y < minY) minY = y;
                    maxY = y;
                    break;
                }
            }
            return (minX, minY, maxX - minX + 1, maxY - minY + 1);
        }

        public override string ToString() => $"{Count} masks, {Width}x{Height} (stored at {GridWidth}x{GridHeight})";
    }
}
