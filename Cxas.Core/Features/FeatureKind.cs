
namespace Cxas.Features
{
    public enum FeatureKind
    {
        CTR,
        SCD,
        Area,
        Perimeter,
        Centroid,
        BoundingBox,
        Compactness,
        Convexity,
    }

    /// <summary>Which construction of the cardio-thoracic ratio.</summary>
    public enum CtrMethod
    {
        /// <summary>Widest transverse heart diameter over widest internal thoracic diameter.</summary>
        Standard,
        /// <summary>The reference implementation's variant: extents from a midline at the right hemidiaphragm's medial end.</summary>
        Reference,
    }

    internal static class FeatureNames
    {
        private static readonly Dictionary<string, FeatureKind> Aliases = new Dictionary<string, FeatureKind>(StringComparer.OrdinalIgnoreCase)
        {
            ["CTR"] = FeatureKind.CTR,
            ["Cardio-Thoracic Ratio"] = FeatureKind.CTR,
            ["CardioThoracicRatio"] = FeatureKind.CTR,
            ["Cardiothoracic Ratio"] = FeatureKind.CTR,
            ["SCD"] = FeatureKind.SCD,
            ["Spine-Center Distance"] = FeatureKind.SCD,
            ["SpineCenterDistance"] = FeatureKind.SCD,
            ["Spine Center Distance"] = FeatureKind.SCD,
            ["Area"] = FeatureKind.Area,
            ["Perimeter"] = FeatureKind.Perimeter,
            ["Centroid"] = FeatureKind.Centroid,
            ["BoundingBox"] = FeatureKind.BoundingBox,
            ["Bounding Box"] = FeatureKind.BoundingBox,
            ["Compactness"] = FeatureKind.Compactness,
            ["Convexity"] = FeatureKind.Convexity,
        };

        /// <summary>Every accepted spelling (short names first).</summary>
        public static IReadOnlyCollection<string> All => Aliases.Keys;

        public static bool TryParse(string name, out FeatureKind kind) => Aliases.TryGetValue(name.Trim(), out kind);

        public static FeatureKind Parse(string name)
        {
            if (TryParse(name, out var kind)) return kind;
            throw new CxasException(CxasErrorKind.InvalidArgument,
                $"Unknown feature '{name}'. Known: {string.Join(", ", Enum.GetNames(typeof(FeatureKind)))}, 'Cardio-Thoracic Ratio', 'Spine-Center Distance'.");
        }

        /// <summary>Features measured on one chosen class (they need a label).</summary>
        public static bool IsShapeFeature(FeatureKind kind) => kind != FeatureKind.CTR && kind != FeatureKind.SCD;
    }
}
