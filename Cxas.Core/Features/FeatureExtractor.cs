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

        public FeatureValue ToValue(CtrResult r)
        {
            var v = NewValue(FeatureKind.CTR.ToString(), "ratio");
            v.Method = r.Method.ToString();
            v.Label = r.Method == CtrMethod.Standard ? "heart; lung" : "heart; lung; right hemidiaphragm";
            v.Status = r.Status;
            v.Message = r.Message;
            if (r.Status == FeatureStatus.Missing) return v;
            v.Value = r.Ratio;
            v.HeartWidth = r.HeartWidth;
            v.RightHeartExtent = r.RightExtent;
            v.LeftHeartExtent = r.LeftExtent;
            v.MidlineXPx = r.MidlineX;
            v.HeartRightXPx = r.HeartRightX;
            v.HeartRightYPx = r.HeartRightY;
            v.HeartLeftXPx = r.HeartLeftX;
            v.HeartLeftYPx = r.HeartLeftY;
            if (r.IsOk)
            {
                v.ThoracicWidth = r.ThoracicWidth;
                v.ThoraxRightXPx = r.ThoraxRightX;
                v.ThoraxLeftXPx = r.ThoraxLeftX;
                v.ThoraxYPx = r.ThoraxY;
            }
            return v;
        }

        public FeatureValue ToValue(ScdResult r)
        {
            var v = NewValue(FeatureKind.SCD.ToString(), Spacing.LengthUnit);
            v.Label = "vertebrae";
            v.Status = r.Status;
            v.Message = r.Message;
            v.VertebraCount = r.Centers.Count;
            v.Vertebrae = r.Names.Count > 0 ? string.Join("; ", r.Names) : null;
            v.CentersPx = r.Centers.Count > 0
                ? string.Join("; ", r.Centers.Select(c => string.Format(CultureInfo.InvariantCulture, "{0:0.##},{1:0.##}", c.X, c.Y)))
                : null;
            if (!r.IsOk) return v;
            v.Value = r.Value;
            v.MaxDistance = r.MaxDistance;
            v.LineSlope = r.Slope;
            v.LineIntercept = r.Intercept;
            return v;
        }

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
            var v = NewValue(kind.ToString(), unit);
            v.Label = canonical;
            if (_masks.PixelCounts[c] == 0)
            {
                v.Status = FeatureStatus.Missing;
                v.Message = $"'{canonical}' was not found in the segmentation.";
                v.PixelCount = 0;
                return v;
            }
            var mask = Mask(canonical)!;
            long count = _masks.PixelCounts[c];
            double area = count * s.X * s.Y;
            v.PixelCount = count;
            switch (kind)
            {
                case FeatureKind.Area:
                    v.Value = v.Area = area;
                    break;
                case FeatureKind.Perimeter:
                    v.Value = v.Perimeter = MaskGeometry.Perimeter(mask, s);
                    break;
                case FeatureKind.Centroid:
                    var centroid = MaskGeometry.Centroid(mask)!.Value;
                    v.X = centroid.X * s.X;
                    v.Y = centroid.Y * s.Y;
                    break;
                case FeatureKind.BoundingBox:
                    var box = MaskGeometry.BoundingBox(mask)!.Value;
                    v.X = box.X * s.X;
                    v.Y = box.Y * s.Y;
                    v.Width = box.Width * s.X;
                    v.Height = box.Height * s.Y;
                    break;
                case FeatureKind.Compactness:
                    double p = MaskGeometry.Perimeter(mask, s);
                    double enclosed = MaskGeometry.ContourArea(mask, s);
                    v.Area = area;
                    v.ContourArea = enclosed;
                    v.Perimeter = p;
                    v.Value = 4 * Math.PI * enclosed / (p * p);
                    break;
                case FeatureKind.Convexity:
                    double inside = MaskGeometry.ContourArea(mask, s);
                    double hull = MaskGeometry.PolygonArea(MaskGeometry.ContourHull(mask, s));
                    v.Area = area;
                    v.ContourArea = inside;
                    v.ConvexArea = hull;
                    v.Value = hull > 0 ? inside / hull : 1.0;
                    break;
            }
            return v;
        }

        private FeatureValue NewValue(string feature, string unit) => new FeatureValue
        {
            Path = Path,
            Feature = feature,
            Unit = unit,
            SpacingSource = Spacing.IsPhysical ? (Spacing.Source ?? "stated") : null,
        };
    }
}
