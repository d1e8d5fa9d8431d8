using System.Globalization;
using Cxas.Masks;
using Cxas.Segmentation;

namespace Cxas.Features
{
    /// <summary>
    /// Measures features on one image's masks at the image's own resolution and flattens them into
    /// <see cref="FeatureValue"/> rows. Masks are built once per class and reused across features.
    /// </summary>
    public sealed class FeatureExtractor
    {
        public const string HeartLabel = "heart";
        public const string LungLabel = "lung";
        public const string RightHemidiaphragmLabel = "right hemidiaphragm";

        private readonly MaskSet _masks;
        private readonly Dictionary<int, BinaryMask> _cache = new Dictionary<int, BinaryMask>();

        public FeatureExtractor(string path, MaskSet masks, PixelSpacing spacing)
        {
            Path = path;
            _masks = masks ?? throw new ArgumentNullException(nameof(masks));
            Spacing = spacing;
        }

        public FeatureExtractor(SegmentationResult result)
            : this(result.Path, result.Masks, PixelSpacing.From(result.Source)) { }

        public string Path { get; }
        public PixelSpacing Spacing { get; }
        public MaskSet Masks => _masks;

        /// <summary>The class's full-resolution mask, or null when the model has no such class.</summary>
        public BinaryMask? Mask(string label)
        {
            int c = _masks.IndexOf(label);
            if (c < 0) return null;
            if (!_cache.TryGetValue(c, out var mask)) _cache[c] = mask = _masks.GetMask(c);
            return mask;
        }

        /// <summary>
        /// The vertebrae the reference's SCD uses ("all vertebrae" in its label mapper): C1-C6, T1-T12 and L1-L5.
        /// C7 is not in that list; it is left out here too so that values agree with the reference.
        /// </summary>
        public static readonly IReadOnlyList<string> ScdVertebrae =
            Enumerable.Range(1, 6).Select(i => "vertebrae C" + i)
                .Concat(Enumerable.Range(1, 12).Select(i => "vertebrae T" + i))
                .Concat(Enumerable.Range(1, 5).Select(i => "vertebrae L" + i))
                .ToList();

        /// <summary>The SCD vertebrae this model has, top to bottom.</summary>
        public IEnumerable<string> VertebraLabels() => ScdVertebrae.Where(l => _masks.IndexOf(l) >= 0);

        public CtrResult Ctr(CtrMethod method) => method == CtrMethod.Standard
            ? CardiothoracicRatio.Standard(Mask(HeartLabel), Mask(LungLabel), Spacing)
            : CardiothoracicRatio.Reference(Mask(HeartLabel), Mask(LungLabel), Mask(RightHemidiaphragmLabel), Spacing);

        public ScdResult Scd()
        {
            // Only vertebrae with pixels are turned into full masks.
            var counts = _masks.PixelCounts;
            var present = VertebraLabels().Where(l => counts[_masks.IndexOf(l)] > 0).Select(l => (l, Mask(l)!));
            return SpineCenterDistance.Compute(present, Spacing);
        }

        /// <summary>
        /// Rows for one feature. Shape features need <paramref name="labels"/> (one row per label); CTR gives one row per
        /// method in <paramref name="ctrMethods"/> (Standard when none is given); SCD gives one row.
        /// </summary>
        public IEnumerable<FeatureValue> Compute(FeatureKind kind, IEnumerable<string>? labels = null, IEnumerable<CtrMethod>? ctrMethods = null)
        {
            switch (kind)
            {
                case FeatureKind.CTR:
                    foreach (var m in (ctrMethods ?? new[] { CtrMethod.Standard }).Distinct())
                        yield return ToValue(Ctr(m));
                    break;
                case FeatureKind.SCD:
                    yield return ToValue(Scd());
                    break;
                default:
                    var list = labels?.ToList() ?? new List<string>();
                    if (list.Count == 0)
                        throw new CxasException(CxasErrorKind.InvalidArgument, $"The {kind} feature needs the classes to measure.", remedy: CxasRemedy.NameClasses);
                    foreach (var label in list) yield return Shape(kind, label);
                    break;
            }
        }

        // Each feature result maps to its value here, once: the construction's columns are empty where the result has none
        // (a missing structure: none; a degenerate thorax: the heart's only).
        public FeatureValue ToValue(CtrResult r)
        {
            bool measured = r.Status != FeatureStatus.Missing;
            return new FeatureValue
            {
                Path = Path, Feature = FeatureKind.CTR.ToString(), Unit = "ratio", SpacingSource = SpacingSource,
                Method = r.Method.ToString(),
                Label = r.Method == CtrMethod.Standard ? "heart; lung" : "heart; lung; right hemidiaphragm",
                Status = r.Status,
                Message = r.Message,
                Value = measured ? r.Ratio : null,
                HeartWidth = measured ? r.HeartWidth : null,
                RightHeartExtent = measured ? r.RightExtent : null,
                LeftHeartExtent = measured ? r.LeftExtent : null,
                MidlineXPx = measured ? r.MidlineX : null,
                HeartRightXPx = measured ? r.HeartRightX : null,
                HeartRightYPx = measured ? r.HeartRightY : null,
                HeartLeftXPx = measured ? r.HeartLeftX : null,
                HeartLeftYPx = measured ? r.HeartLeftY : null,
                ThoracicWidth = r.IsOk ? r.ThoracicWidth : null,
                ThoraxRightXPx = r.IsOk ? r.ThoraxRightX : null,
                ThoraxLeftXPx = r.IsOk ? r.ThoraxLeftX : null,
                ThoraxYPx = r.IsOk ? r.ThoraxY : null,
            };
        }

        public FeatureValue ToValue(ScdResult r) => new FeatureValue
        {
            Path = Path, Feature = FeatureKind.SCD.ToString(), Unit = Spacing.LengthUnit, SpacingSource = SpacingSource,
            Label = "vertebrae",
            Status = r.Status,
            Message = r.Message,
            VertebraCount = r.Centers.Count,
            Vertebrae = r.Names.Count > 0 ? string.Join("; ", r.Names) : null,
            CentersPx = r.Centers.Count > 0
                ? string.Join("; ", r.Centers.Select(c => string.Format(CultureInfo.InvariantCulture, "{0:0.##},{1:0.##}", c.X, c.Y)))
                : null,
            Value = r.IsOk ? r.Value : null,
            MaxDistance = r.IsOk ? r.MaxDistance : null,
            LineSlope = r.IsOk ? r.Slope : null,
            LineIntercept = r.IsOk ? r.Intercept : null,
        };

        public FeatureValue Shape(FeatureKind kind, string label)
        {
            int c = _masks.IndexOf(label);
            if (c < 0)
                throw new CxasException(CxasErrorKind.InvalidArgument, $"Label '{label}' is not one of this model's {_masks.Count} classes.");
            string canonical = _masks.Labels[c];
            var s = Spacing;
            string unit = kind switch
            {
                FeatureKind.Area => s.AreaUnit,
                FeatureKind.Compactness => "1",
                FeatureKind.Convexity => "1",
                _ => s.LengthUnit,
            };
            long count = _masks.PixelCounts[c];
            if (count == 0)
                return new FeatureValue
                {
                    Path = Path, Feature = kind.ToString(), Unit = unit, SpacingSource = SpacingSource, Label = canonical,
                    Status = FeatureStatus.Missing, Message = $"'{canonical}' was not found in the segmentation.", PixelCount = 0,
                };

            // The measures this kind reports, then one value carrying them.
            var mask = Mask(canonical)!;
            double area = count * s.X * s.Y;
            double? value = null, x = null, y = null, width = null, height = null, areaColumn = null, contour = null, convex = null, perimeter = null;
            switch (kind)
            {
                case FeatureKind.Area:
                    value = areaColumn = area;
                    break;
                case FeatureKind.Perimeter:
                    value = perimeter = MaskGeometry.Perimeter(mask, s);
                    break;
                case FeatureKind.Centroid:
                    var centroid = MaskGeometry.Centroid(mask)!.Value;
                    x = centroid.X * s.X;
                    y = centroid.Y * s.Y;
                    break;
                case FeatureKind.BoundingBox:
                    var box = MaskGeometry.BoundingBox(mask)!.Value;
                    x = box.X * s.X;
                    y = box.Y * s.Y;
                    width = box.Width * s.X;
                    height = box.Height * s.Y;
                    break;
                case FeatureKind.Compactness:
                    double p = MaskGeometry.Perimeter(mask, s);
                    double enclosed = MaskGeometry.ContourArea(mask, s);
                    areaColumn = area;
                    contour = enclosed;
                    perimeter = p;
                    value = 4 * Math.PI * enclosed / (p * p);
                    break;
                case FeatureKind.Convexity:
                    double inside = MaskGeometry.ContourArea(mask, s);
                    double hull = MaskGeometry.PolygonArea(MaskGeometry.ContourHull(mask, s));
                    areaColumn = area;
                    contour = inside;
                    convex = hull;
                    value = hull > 0 ? inside / hull : 1.0;
                    break;
            }
            return new FeatureValue
            {
                Path = Path, Feature = kind.ToString(), Unit = unit, SpacingSource = SpacingSource, Label = canonical,
                PixelCount = count, Value = value, X = x, Y = y, Width = width, Height = height,
                Area = areaColumn, ContourArea = contour, ConvexArea = convex, Perimeter = perimeter,
            };
        }

        /// <summary>The SpacingSource column: where physical spacing came from, empty for pixel units.</summary>
        private string? SpacingSource => Spacing.IsPhysical ? (Spacing.Source ?? "stated") : null;
    }
}
