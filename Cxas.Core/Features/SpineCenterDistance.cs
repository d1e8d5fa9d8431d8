using Cxas.Masks;

namespace Cxas.Features
{
    /// <summary>A spine-centre distance and the centres and line it was measured on. Immutable: built once by <see cref="SpineCenterDistance"/>.</summary>
    public sealed class ScdResult
    {
        public FeatureStatus Status { get; internal init; } = FeatureStatus.OK;
        public string? Message { get; internal init; }
        /// <summary>Mean perpendicular distance of the vertebra centres to their regression line.</summary>
        public double? Value { get; internal init; }
        public double? MaxDistance { get; internal init; }
        /// <summary>Line x = Intercept + Slope * y in physical coordinates (index times spacing).</summary>
        public double? Slope { get; internal init; }
        public double? Intercept { get; internal init; }
        public IReadOnlyList<string> Names { get; internal init; } = Array.Empty<string>();
        /// <summary>Centres (mean pixel index) of the vertebrae used, in the order of <see cref="Names"/>.</summary>
        public IReadOnlyList<(double X, double Y)> Centers { get; internal init; } = Array.Empty<(double X, double Y)>();
        public IReadOnlyList<double> Distances { get; internal init; } = Array.Empty<double>();
        public bool IsOk => Status == FeatureStatus.OK;

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
            // The centres first; a result without a line when they are too few or all on one row.
            var names = new List<string>();
            var centers = new List<(double X, double Y)>();
            foreach (var (name, mask) in vertebrae)
            {
                var c = MaskGeometry.Centroid(mask);
                if (c == null) continue;
                names.Add(name);
                centers.Add((c.Value.X, c.Value.Y));
            }
            int n = centers.Count;
            if (n < MinimumVertebrae)
                return new ScdResult
                {
                    Names = names, Centers = centers, Status = n == 0 ? FeatureStatus.Missing : FeatureStatus.TooFew,
                    Message = $"{n} vertebra{(n == 1 ? "" : "e")} found; the line fit needs at least {MinimumVertebrae}.",
                };
            double my = 0, mx = 0;
            foreach (var (x, y) in centers) { mx += x * spacing.X; my += y * spacing.Y; }
            mx /= n;
            my /= n;
            double syy = 0, sxy = 0;
            foreach (var (x, y) in centers)
            {
                double dy = y * spacing.Y - my, dx = x * spacing.X - mx;
                syy += dy * dy;
                sxy += dx * dy;
            }
            if (syy <= 0)
                return new ScdResult
                {
                    Names = names, Centers = centers, Status = FeatureStatus.Degenerate,
                    Message = "All vertebra centres lie on one row; no line x(y) fits them.",
                };
            double slope = sxy / syy;
            double intercept = mx - slope * my;
            double norm = Math.Sqrt(1 + slope * slope);
            var distances = new List<double>();
            double sum = 0, max = 0;
            foreach (var (x, y) in centers)
            {
                double d = Math.Abs(x * spacing.X - intercept - slope * y * spacing.Y) / norm;
                distances.Add(d);
                sum += d;
                if (d > max) max = d;
            }
            return new ScdResult
            {
                Names = names, Centers = centers, Distances = distances,
                Slope = slope, Intercept = intercept, Value = sum / n, MaxDistance = max,
            };
        }
    }
}
