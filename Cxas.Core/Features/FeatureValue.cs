namespace Cxas.Features
{
    /// <summary>Statuses a <see cref="FeatureValue"/> can carry.</summary>
    public static class FeatureStatus
    {
        public const string Ok = "OK";
        /// <summary>A structure the feature needs is absent from the segmentation.</summary>
        public const string Missing = "Missing";
        /// <summary>Fewer vertebrae than a line fit needs.</summary>
        public const string TooFew = "TooFew";
        /// <summary>The structures are present but give no usable measure (e.g. a zero-width thorax).</summary>
        public const string Degenerate = "Degenerate";
    }

    /// <summary>
    /// One measured value, flat so that every row of a table or CSV has the same columns. Columns that do not apply to
    /// a feature stay empty. Lengths, widths, extents and distances are in <see cref="Unit"/> (or its length part for
    /// areas); columns ending in Px are pixel indices (column x, row y) of the image at its own resolution, for drawing
    /// and checking the construction.
    /// </summary>
    public sealed class FeatureValue
    {
        public string Path { get; set; } = "";
        public string FileName => System.IO.Path.GetFileName(Path);
        /// <summary>CTR, SCD, Area, Perimeter, Centroid, BoundingBox, Compactness or Convexity.</summary>
        public string Feature { get; set; } = "";
        /// <summary>CTR: "Standard" or "Reference"; empty for the other features.</summary>
        public string? Method { get; set; }
        /// <summary>The class measured (shape features) or the classes used (CTR, SCD).</summary>
        public string? Label { get; set; }
        /// <summary>The value; empty when <see cref="Status"/> is not OK, and for Centroid and BoundingBox (see X, Y, Width, Height).</summary>
        public double? Value { get; set; }
        /// <summary>"ratio", "mm", "px", "mm^2", "px^2" or "1" (dimensionless).</summary>
        public string Unit { get; set; } = "";
        public string Status { get; set; } = FeatureStatus.Ok;
        /// <summary>Why a value is missing, in words.</summary>
        public string? Message { get; set; }
        /// <summary>Where the pixel spacing came from (e.g. "PixelSpacing"); empty when lengths are in pixels.</summary>
        public string? SpacingSource { get; set; }

        // CTR
        public double? HeartWidth { get; set; }
        public double? ThoracicWidth { get; set; }
        /// <summary>Heart extent from the midline towards the image's left side (the patient's right on a PA view).</summary>
        public double? RightHeartExtent { get; set; }
        /// <summary>Heart extent from the midline towards the image's right side (the patient's left on a PA view).</summary>
        public double? LeftHeartExtent { get; set; }
        public double? MidlineXPx { get; set; }
        public int? HeartRightXPx { get; set; }
        public int? HeartRightYPx { get; set; }
        public int? HeartLeftXPx { get; set; }
        public int? HeartLeftYPx { get; set; }
        public int? ThoraxRightXPx { get; set; }
        public int? ThoraxLeftXPx { get; set; }
        public int? ThoraxYPx { get; set; }

        // SCD
        public int? VertebraCount { get; set; }
        /// <summary>Names of the vertebrae used, top to bottom in model order, joined with "; ".</summary>
        public string? Vertebrae { get; set; }
        /// <summary>Fitted line x = LineIntercept + LineSlope * y, in Unit (x across, y down from the top-left pixel).</summary>
        public double? LineSlope { get; set; }
        public double? LineIntercept { get; set; }
        public double? MaxDistance { get; set; }
        /// <summary>Vertebra centres as "x,y" pixel indices joined with "; ".</summary>
        public string? CentersPx { get; set; }

        // Shape features
        /// <summary>Centroid (mean pixel index times spacing) or the bounding box's first column and row, in Unit.</summary>
        public double? X { get; set; }
        public double? Y { get; set; }
        /// <summary>Bounding box size (columns and rows covered, times spacing), in Unit.</summary>
        public double? Width { get; set; }
        public double? Height { get; set; }
        /// <summary>Pixel count times pixel area.</summary>
        public double? Area { get; set; }
        /// <summary>Area enclosed by the contour the perimeter is measured on.</summary>
        public double? ContourArea { get; set; }
        /// <summary>Area of the convex hull of that contour.</summary>
        public double? ConvexArea { get; set; }
        public double? Perimeter { get; set; }
        public long? PixelCount { get; set; }

        public override string ToString() =>
            $"{FileName} {Feature}{(Label != null ? " " + Label : "")}: {(Value.HasValue ? Value.Value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) + " " + Unit : Status)}";
    }
}
