using Cxas.Masks;

namespace Cxas.Features
{
    /// <summary>Leftmost and rightmost foreground column of one row.</summary>
    internal readonly struct RowExtent
    {
        public RowExtent(int y, int left, int right) { Y = y; Left = left; Right = right; }
        public int Y { get; }
        public int Left { get; }
        public int Right { get; }
        /// <summary>Columns covered from the left edge of <see cref="Left"/> to the right edge of <see cref="Right"/>.</summary>
        public int Span => Right - Left + 1;
    }

    /// <summary>
    /// Geometry of one binary mask at its own resolution. Coordinates are pixel indices: pixel (x, y) is the unit square
    /// [x, x+1) x [y, y+1) of the image plane, its centre at (x + 0.5, y + 0.5) in edge coordinates; centroids are
    /// reported in index coordinates (the centre of pixel (0,0) is (0,0)).
    /// </summary>
    internal static class MaskGeometry
    {
        /// <summary>Leftmost and rightmost foreground pixel of every non-empty row, top to bottom.</summary>
        public static List<RowExtent> RowExtents(BinaryMask mask)
        {
            var result = new List<RowExtent>();
            for (int y = 0; y < mask.Height; y++)
            {
                var row = mask.Row(y);
                int left = -1, right = -1;
                for (int k = 0; k < row.Length; k++)
                {
                    if (row[k] == 0) continue;
                    left = (k << 6) + BitOps.TrailingZeros(row[k]);
                    break;
                }
                if (left < 0) continue;
                for (int k = row.Length - 1; k >= 0; k--)
                {
                    if (row[k] == 0) continue;
                    right = (k << 6) + 63 - BitOps.LeadingZeros(row[k]);
                    break;
                }
                result.Add(new RowExtent(y, left, right));
            }
            return result;
        }

        /// <summary>Mean pixel index (x, y) of the foreground, or null when the mask is empty.</summary>
        public static (double X, double Y, long Count)? Centroid(BinaryMask mask)
        {
            long n = 0;
            double sx = 0, sy = 0;
            for (int y = 0; y < mask.Height; y++)
            {
                var row = mask.Row(y);
                long rowCount = 0;
                for (int k = 0; k < row.Length; k++)
                {
                    ulong w = row[k];
                    while (w != 0)
                    {
                        int x = (k << 6) + BitOps.TrailingZeros(w);
                        sx += x;
                        rowCount++;
                        w &= w - 1;
                    }
                }
                n += rowCount;
                sy += (double)rowCount * y;
            }
            if (n == 0) return null;
            return (sx / n, sy / n, n);
        }

        /// <summary>Smallest box holding the foreground: first column and row, and the number of columns and rows.</summary>
        public static (int X, int Y, int Width, int Height)? BoundingBox(BinaryMask mask)
        {
            var rows = RowExtents(mask);
            if (rows.Count == 0) return null;
            int minX = int.MaxValue, maxX = -1;
            foreach (var r in rows)
            {
                if (r.Left < minX) minX = r.Left;
                if (r.Right > maxX) maxX = r.Right;
            }
            int y0 = rows[0].Y, y1 = rows[rows.Count - 1].Y;
            return (minX, y0, maxX - minX + 1, y1 - y0 + 1);
        }

        /// <summary>
        /// Length of every contour of the mask (outer boundaries and holes, each closed), scaled by the spacing.
        /// The contour is the 0.5 iso-line through the pixel centres with the image surrounded by background (marching
        /// squares): it joins the midpoints between each foreground pixel and its 4-neighbours outside the mask.
        /// Per 2x2 cell of pixel centres the segment lengths are fixed by the cell's pattern, and the two ways of
        /// resolving a diagonal pattern give the same length, so the total needs no tracing.
        /// </summary>
        public static double Perimeter(BinaryMask mask, PixelSpacing spacing)
        {
            var counts = CellCounts(mask);
            double diagonal = Math.Sqrt(spacing.X * spacing.X + spacing.Y * spacing.Y) / 2;
            return (counts.One + counts.Three + 2.0 * counts.Saddle) * diagonal + counts.Horizontal * spacing.X + counts.Vertical * spacing.Y;
        }

        /// <summary>
        /// Area enclosed by the contours of <see cref="Perimeter"/> (outer contours minus holes), scaled by the spacing.
        /// It differs from the pixel count by 1/8 pixel per corner: convex corners are cut, concave ones filled.
        /// Diagonal-only cells are taken as separate (foreground 4-connected): each keeps two 1/8 triangles.
        /// </summary>
        public static double ContourArea(BinaryMask mask, PixelSpacing spacing)
        {
            var c = CellCounts(mask);
            double cells = c.One / 8.0 + c.Three * 7.0 / 8.0 + c.Four + (c.Horizontal + c.Vertical) / 2.0 + c.Saddle / 4.0;
            return cells * spacing.X * spacing.Y;
        }

        /// <summary>
        /// Counts of marching-squares cells (2x2 pixel centres) by pattern: one, three or four corners inside, two
        /// diagonal corners (saddle), and two adjacent corners with a horizontal or a vertical iso-line between the pairs.
        /// </summary>
        internal static (long One, long Three, long Four, long Saddle, long Horizontal, long Vertical) CellCounts(BinaryMask mask)
        {
            int w = mask.Width, h = mask.Height;
            long one = 0, three = 0, four = 0, saddle = 0, horizontal = 0, vertical = 0;
            var empty = new ulong[mask.WordsPerRow];
            // Cell (cx, cy) for cx in 0..w and cy in 0..h has corners at pixels (cx-1, cy-1), (cx, cy-1), (cx-1, cy), (cx, cy).
            for (int cy = 0; cy <= h; cy++)
            {
                ReadOnlySpan<ulong> top = cy > 0 ? mask.Row(cy - 1) : empty;
                ReadOnlySpan<ulong> bottom = cy < h ? mask.Row(cy) : empty;
                bool anyTop = false, anyBottom = false;
                for (int k = 0; k < top.Length; k++) { if (top[k] != 0) anyTop = true; if (bottom[k] != 0) anyBottom = true; }
                if (!anyTop && !anyBottom) continue;
                bool a = false, c = false; // left column of the cell: top-left, bottom-left
                for (int cx = 0; cx <= w; cx++)
                {
                    bool b = cx < w && (top[cx >> 6] & (1UL << (cx & 63))) != 0;
                    bool d = cx < w && (bottom[cx >> 6] & (1UL << (cx & 63))) != 0;
                    int n = (a ? 1 : 0) + (b ? 1 : 0) + (c ? 1 : 0) + (d ? 1 : 0);
                    switch (n)
                    {
                        case 1: one++; break;
                        case 3: three++; break;
                        case 4: four++; break;
                        case 2:
                            if (a == b) horizontal++;       // top pair equal, bottom pair equal, pairs differ
                            else if (a == c) vertical++;    // left pair vs right pair
                            else saddle++;
                            break;
                    }
                    a = b;
                    c = d;
                }
            }
            return (one, three, four, saddle, horizontal, vertical);
        }

        /// <summary>
        /// Convex hull of the contour, in physical coordinates (index x times spacing.X, index y times spacing.Y),
        /// counter-clockwise in the image plane. Empty for an empty mask.
        /// </summary>
        public static List<(double X, double Y)> ContourHull(BinaryMask mask, PixelSpacing spacing)
        {
            // Contour vertices are midpoints between foreground pixels and their outside 4-neighbours. Every such midpoint
            // lies between the outermost ones of its row (horizontal neighbours) or its column (vertical neighbours), so
            // those extremes span the same hull.
            var points = new List<(double X, double Y)>();
            int w = mask.Width, h = mask.Height;
            var top = new int[w];
            var bottom = new int[w];
            for (int x = 0; x < w; x++) { top[x] = -1; bottom[x] = -1; }
            foreach (var r in RowExtents(mask))
            {
                points.Add(((r.Left - 0.5) * spacing.X, r.Y * spacing.Y));
                points.Add(((r.Right + 0.5) * spacing.X, r.Y * spacing.Y));
                var row = mask.Row(r.Y);
                for (int k = r.Left >> 6; k <= r.Right >> 6; k++)
                {
                    ulong word = row[k];
                    while (word != 0)
                    {
                        int x = (k << 6) + BitOps.TrailingZeros(word);
                        if (top[x] < 0) top[x] = r.Y;
                        bottom[x] = r.Y;
                        word &= word - 1;
                    }
                }
            }
            for (int x = 0; x < w; x++)
            {
                if (top[x] < 0) continue;
                points.Add((x * spacing.X, (top[x] - 0.5) * spacing.Y));
                points.Add((x * spacing.X, (bottom[x] + 0.5) * spacing.Y));
            }
            return ConvexHull(points);
        }

        /// <summary>Andrew's monotone chain; collinear points are dropped.</summary>
        public static List<(double X, double Y)> ConvexHull(List<(double X, double Y)> points)
        {
            var p = new List<(double X, double Y)>(points);
            p.Sort((u, v) => u.X != v.X ? u.X.CompareTo(v.X) : u.Y.CompareTo(v.Y));
            if (p.Count < 3) return p;
            var hull = new (double X, double Y)[2 * p.Count];
            int k = 0;
            for (int i = 0; i < p.Count; i++)
            {
                while (k >= 2 && Cross(hull[k - 2], hull[k - 1], p[i]) <= 0) k--;
                hull[k++] = p[i];
            }
            for (int i = p.Count - 2, lower = k + 1; i >= 0; i--)
            {
                while (k >= lower && Cross(hull[k - 2], hull[k - 1], p[i]) <= 0) k--;
                hull[k++] = p[i];
            }
            var result = new List<(double X, double Y)>(k - 1);
            for (int i = 0; i < k - 1; i++) result.Add(hull[i]);
            return result;
        }

        public static double PolygonPerimeter(IReadOnlyList<(double X, double Y)> polygon)
        {
            if (polygon.Count < 2) return 0;
            double sum = 0;
            for (int i = 0; i < polygon.Count; i++)
            {
                var a = polygon[i];
                var b = polygon[(i + 1) % polygon.Count];
                sum += Math.Sqrt((b.X - a.X) * (b.X - a.X) + (b.Y - a.Y) * (b.Y - a.Y));
            }
            return sum;
        }

        public static double PolygonArea(IReadOnlyList<(double X, double Y)> polygon)
        {
            double twice = 0;
            for (int i = 0; i < polygon.Count; i++)
            {
                var a = polygon[i];
                var b = polygon[(i + 1) % polygon.Count];
                twice += a.X * b.Y - b.X * a.Y;
            }
            return Math.Abs(twice) / 2;
        }

        private static double Cross((double X, double Y) o, (double X, double Y) a, (double X, double Y) b) =>
            (a.X - o.X) * (b.Y - o.Y) - (a.Y - o.Y) * (b.X - o.X);
    }
}
