namespace Cxas.Features
{
    /// <summary>One column of a feature row: its name and value.</summary>
    internal readonly struct FeatureColumn
    {
        public FeatureColumn(string name, object? value)
        {
            Name = name;
            Value = value;
        }

        public string Name { get; }
        public object? Value { get; }
    }

    /// <summary>
    /// The rows a table or CSV shows for measured features, in one of two forms:
    /// <list type="bullet">
    /// <item>the feature's own shape (<see cref="Shape"/>), when one feature is measured: the identity columns (Path,
    /// FileName, Feature, and Method or Label where the feature has them), then the measure itself where a reader looks
    /// first (Value; X and Y for Centroid; X, Y, Width and Height for BoundingBox), Unit, Status and Message, then the
    /// construction's details (heart and thorax extents for CTR, the fitted line for SCD, pixel counts...). Every row
    /// of a feature has the same columns, whatever its status;</item>
    /// <item>the long form (<see cref="Long"/>), when several features are measured together: Path, FileName, Feature,
    /// Method, Label, Measure, Value, Unit, Status, Message for every feature, one row per number (Centroid gives rows
    /// X and Y), so that one CSV holds them all with every value in the Value column. Details are left to the
    /// one-feature form.</item>
    /// </list>
    /// </summary>
    internal static class FeatureRows
    {
        /// <summary>The columns of the long form, in order.</summary>
        public static readonly IReadOnlyList<string> LongColumns =
            new[] { "Path", "FileName", "Feature", "Method", "Label", "Measure", "Value", "Unit", "Status", "Message" };

        private static readonly string[] CtrDetails =
        {
            nameof(FeatureValue.HeartWidth), nameof(FeatureValue.ThoracicWidth), nameof(FeatureValue.RightHeartExtent),
            nameof(FeatureValue.LeftHeartExtent), nameof(FeatureValue.MidlineXPx), nameof(FeatureValue.HeartRightXPx),
            nameof(FeatureValue.HeartRightYPx), nameof(FeatureValue.HeartLeftXPx), nameof(FeatureValue.HeartLeftYPx),
            nameof(FeatureValue.ThoraxRightXPx), nameof(FeatureValue.ThoraxLeftXPx), nameof(FeatureValue.ThoraxYPx),
        };

        private static readonly string[] ScdDetails =
        {
            nameof(FeatureValue.MaxDistance), nameof(FeatureValue.VertebraCount), nameof(FeatureValue.Vertebrae),
            nameof(FeatureValue.LineSlope), nameof(FeatureValue.LineIntercept), nameof(FeatureValue.CentersPx),
        };

        /// <summary>The measures of a feature: the names of the numbers its long-form rows carry, in order.</summary>
        public static IReadOnlyList<string> Measures(string feature)
        {
            switch (Kind(feature))
            {
                case FeatureKind.Centroid: return new[] { "X", "Y" };
                case FeatureKind.BoundingBox: return new[] { "X", "Y", "Width", "Height" };
                default: return new[] { feature };
            }
        }

        /// <summary>The column names of a feature's own shape, in order.</summary>
        public static IReadOnlyList<string> Columns(string feature)
        {
            var kind = Kind(feature);
            var columns = new List<string> { "Path", "FileName", "Feature" };
            columns.Add(kind == FeatureKind.CTR ? "Method" : "Label");
            if (kind == FeatureKind.Centroid || kind == FeatureKind.BoundingBox) columns.AddRange(Measures(feature));
            else columns.Add("Value");
            columns.AddRange(new[] { "Unit", "Status", "Message", "SpacingSource" });
            switch (kind)
            {
                case FeatureKind.CTR:
                    columns.Add("Label");
                    columns.AddRange(CtrDetails);
                    break;
                case FeatureKind.SCD:
                    columns.AddRange(ScdDetails);
                    break;
                case FeatureKind.Compactness:
                    columns.AddRange(new[] { nameof(FeatureValue.Area), nameof(FeatureValue.ContourArea), nameof(FeatureValue.Perimeter) });
                    break;
                case FeatureKind.Convexity:
                    columns.AddRange(new[] { nameof(FeatureValue.Area), nameof(FeatureValue.ContourArea), nameof(FeatureValue.ConvexArea) });
                    break;
            }
            if (kind != FeatureKind.CTR && kind != FeatureKind.SCD) columns.Add(nameof(FeatureValue.PixelCount));
            return columns;
        }

        /// <summary>A value in its feature's own shape.</summary>
        public static IReadOnlyList<FeatureColumn> Shape(FeatureValue value) =>
            Columns(value.Feature).Select(name => new FeatureColumn(name, Read(value, name))).ToList();

        /// <summary>A value as long-form rows, one per measure.</summary>
        public static IEnumerable<IReadOnlyList<FeatureColumn>> Long(FeatureValue value)
        {
            foreach (var measure in Measures(value.Feature))
            {
                object? number = measure == value.Feature ? value.Value : Read(value, measure);
                yield return new[]
                {
                    new FeatureColumn("Path", value.Path), new FeatureColumn("FileName", value.FileName),
                    new FeatureColumn("Feature", value.Feature), new FeatureColumn("Method", value.Method),
                    new FeatureColumn("Label", value.Label), new FeatureColumn("Measure", measure),
                    new FeatureColumn("Value", number), new FeatureColumn("Unit", value.Unit),
                    new FeatureColumn("Status", value.Status), new FeatureColumn("Message", value.Message),
                };
            }
        }

        private static FeatureKind? Kind(string feature) =>
            Enum.TryParse<FeatureKind>(feature, out var kind) ? kind : (FeatureKind?)null;

        // The row names are FeatureValue's own property names, so one reflection read serves every column.
        private static object? Read(FeatureValue value, string name) =>
            typeof(FeatureValue).GetProperty(name)?.GetValue(value);
    }
}
