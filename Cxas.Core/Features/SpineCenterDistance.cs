using Cxas.Masks;

namespace Cxas.Features
{
    public sealed class ScdResult
    {
        public string Status { get; internal set; } = FeatureStatus.Ok;
        public string? Message { get; internal set; }
        /// <summary>Mean perpendicular distance of the vertebra centres to their regression line.</summary>
        public double? Value { get; internal set; }
        public double? MaxDistance { get; internal set; }
        /// <summary>Line x = Intercept + Slope * y in physical coordinates (index times spacing).</summary>
        public double? Slope { get; internal set; }
        public double? Intercept { get; internal set; }
        public List<string> Names { get; } = new List<string>();
        /// <summary>Centres (mean pixel index) of the vertebrae used, in the order of <see cref="Names"/>.</summary>
        public List<(double X, double Y)> Centers { get; } = new List<(double X, double Y)>();
        public List<double> Distances { get; } = new List<double>();
        public bool IsOk => Status == FeatureStatus.Ok;

        /// <summary>The line's column (index coordinates) at image row <paramref name="y"/> (index coordinates).</summary>
        public double LineXAt(double y, PixelSpacing spacing) =>
            (Intercept!.Value + Slope!.Value * y * spacing.Y) / spacing.X;
    }

    /// <summary>
    /// Spine-centre distance as the reference defines it: the centre of each vertebra found is the mean of its pixel
    /// positions; a least-squares line x = a + b*y (column as a function of row) is fitted through the centres; the
    /// value is the mean distance of the centres to that line. Here the distance is the exact perpendicular distance
    /// |x - a - b*y| / sqrt(1 + b^2) in physical coordinates (the reference takes the nearest of the line's points
    /// sampled once per row, which is the same up to rounding).
    /// </summary>
    internal static class SpineCenterDistance
    {
        /// <summary>Fewer centres leave nothing to measure (two points always lie on their line).</summary>
        public const int MinimumVertebrae = 3;

        public static ScdResult Compute(IEnumerable<(string Name, BinaryMask Mask)> vertebrae, PixelSpacing spacing)
        {
            var result = new ScdResult();
            foreach (var (name, mask) in vertebrae)
            {
                var c = MaskGeometry.Centroid(mask);
                if (c == null) continue;
                result.Names.Add(name);
                result.Centers.Add((c.Value.X, c.Value.Y));
            }
            int n = result.Centers.Count;
            if (n < MinimumVertebrae)
            {
                result.Status = n == 0 ? FeatureStatus.Missing : FeatureStatus.TooFew;
                result.Message = $"{n} vertebra{(n == 1 ? "" : "e")} found; the line fit needs at least {MinimumVertebrae}.";
                return result;
            }
            double my = 0, mx = 0;
            foreach (var (x, y) in result.Centers) { mx += x * spacing.X; my += y * spacing.Y; }
            mx /= n;
            my /= n;
            double syy = 0, sxy = 0;
            foreach (var (x, y) in result.Centers)
            {
                double dy = y * spacing.Y - my, dx = x * spacing.X - mx;
                syy += dy * dy;
                sxy += dx * dy;
            }
            if (syy <= 0)
            {
                result.Status = FeatureStatus.Degenerate;
                result.Message = "All vertebra centres lie on one row; no line x(y) fits them.";
                return result;
            }
            double slope = sxy / syy;
            double intercept = mx - slope * my;
            double norm = Math.Sqrt(1 + slope * slope);
            double sum = 0, max = 0;
            foreach (var (x, y) in result.Centers)
            {
                double d = Math.Abs(x * spacing.X - intercept - slope * y * spacing.Y) / norm;
                result.Distances.Add(d);
                sum += d;
                if (d > max) max = d;
            }
            result.Slope = slope;
            result.Intercept = intercept;
            result.Value = sum / n;
            result.MaxDistance = max;
            return result;
        }
    }
}
