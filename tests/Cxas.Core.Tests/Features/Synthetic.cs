namespace Cxas.Core.Tests.Features
{
    /// <summary>Builds masks and mask sets from pixel predicates for the feature tests.</summary>
    internal static class Synthetic
    {
        public static BinaryMask Mask(int width, int height, Func<int, int, bool> inside)
        {
            var m = new BinaryMask(width, height);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    if (inside(x, y)) m[x, y] = true;
            return m;
        }

        public static Func<int, int, bool> Rect(int x0, int y0, int w, int h) =>
            (x, y) => x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;

        public static Func<int, int, bool> Union(params Func<int, int, bool>[] parts) => (x, y) =>
        {
            foreach (var p in parts) if (p(x, y)) return true;
            return false;
        };

        /// <summary>A mask set whose grid is <paramref name="gridW"/> x <paramref name="gridH"/>, each class given on the grid.</summary>
        public static MaskSet Set(int gridW, int gridH, int width, int height, IReadOnlyList<string> labels,
            IDictionary<string, Func<int, int, bool>> grid)
        {
            var set = new MaskSet(labels, gridW, gridH, width, height);
            foreach (var kv in grid)
            {
                int c = set.IndexOf(kv.Key);
                for (int y = 0; y < gridH; y++)
                    for (int x = 0; x < gridW; x++)
                        if (kv.Value(x, y)) set.SetGridBit(c, x, y, true);
            }
            return set;
        }

        public static SegmentationResult Result(MaskSet set, string path = "/data/chest.png", double? columnMm = null, double? rowMm = null)
        {
            var info = new SourceInfo(path, "PNG")
            {
                ColumnSpacingMm = columnMm,
                RowSpacingMm = rowMm,
                SpacingSource = columnMm.HasValue ? "PixelSpacing" : null,
            };
            return new SegmentationResult(info, set.Width, set.Height, "test", "/models/test", "cpu", set, TimeSpan.Zero, TimeSpan.Zero);
        }

        public static readonly string[] Labels =
        {
            "spine", "vertebrae T1", "vertebrae T2", "vertebrae T3", "vertebrae T4", "heart", "lung", "right lung", "left lung",
            "right hemidiaphragm", "vertebrae C7",
        };
    }
}
