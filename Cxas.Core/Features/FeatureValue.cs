namespace Cxas.Features
{
    /// <summary>
    /// Statuses a <see cref="FeatureValue"/> (and a <see cref="CtrResult"/> or <see cref="ScdResult"/>) can carry. The
    /// member names are the words tables and CSV files show, so <c>Where-Object Status -eq 'OK'</c> compares by name.
    /// </summary>
    public enum FeatureStatus
    {
        /// <summary>Measured.</summary>
        OK,
        /// <summary>A structure the feature needs is absent from the segmentation.</summary>
        Missing,
        /// <summary>Fewer vertebrae than a line fit needs.</summary>
        TooFew,
        /// <summary>The structures are present but give no usable measure (e.g. a zero-width thorax).</summary>
        Degenerate,
    }

    /// <summary>
    /// One measured value, flat so that every row of a table or CSV has the same columns. Columns that do not apply to
    /// a feature stay empty. Lengths, widths, extents and distances are in <see cref="Unit"/> (or its length part for
    /// areas); columns ending in Px are pixel indices (column x, row y) of the image at its own resolution, for drawing
    /// and checking the construction. Immutable: <see cref="FeatureExtractor"/> builds it whole.
    /// </summary>
    public sealed class FeatureValue
    {
        public string Path { get; internal init; } = "";
        public string FileName => System.IO.Path.GetFileName(Path);
        /// <summary>CTR, SCD, Area, Perimeter, Centroid, BoundingBox, Compactness or Convexity.</summary>
        public string Feature { get; internal init; } = "";
        /// <summary>CTR: "Standard" or "Reference"; empty for the other features.</summary>
        public string? Method { get; internal init; }
        /// <summary>The class measured (shape features) or the classes used (CTR, SCD).</summary>
        public string? Label { get; internal init; }
        /// <summary>The value; empty when <see cref="Status"/> is not OK, and for Centroid and BoundingBox (see X, Y, Width, Height).</summary>
        public double? Value { get; internal init; }
        /// <summary>"ratio", "mm", "px", "mm^2", "px^2" or "1" (dimensionless).</summary>
        public string Unit { get; internal init; } = "";
        public FeatureStatus Status { get; internal init; } = FeatureStatus.OK;
        /// <summary>Why a value is missing, in words.</summary>
        public string? Message { get; internal init; }
        /// <summary>Where the pixel spacing came from (e.g. "PixelSpacing"); empty when lengths are in pixels.</summary>
        public string? SpacingSource { get; internal init; }

        // CTR
        public double? HeartWidth { get; internal init; }
        public double? ThoracicWidth { get; internal init; }
        /// <summary>Heart extent from the midline towards the image's left side (the patient's right on a PA view).</summary>
        public double? RightHeartExtent { get; internal init; }
        /// <summary>Heart extent from the midline towards the image's right side (the patient's left on a PA view).</summary>
        public double? LeftHeartExtent { get; internal init; }
        public double? MidlineXPx { get; internal init; }
        public int? HeartRightXPx { get; internal init; }
        public int? HeartRightYPx { get; internal init; }
        public int? HeartLeftXPx { get; internal init; }
        public int? HeartLeftYPx { get; internal init; }
        public int? ThoraxRightXPx { get; internal init; }
        public int? ThoraxLeftXPx { get; internal init; }
        public int? ThoraxYPx { get; internal init; }

        // SCD
        public int? VertebraCount { get; internal init; }
        /// <summary>Names of the vertebrae used, top to bottom in model order, joined with "; ".</summary>
        public string? Vertebrae { get; internal init; }
        /// <summary>Fitted line x = LineIntercept + LineSlope * y, in Unit (x across, y down from the top-left pixel).</summary>
        public double? LineSlope { get; internal init; }
        public double? LineIntercept { get; internal init; }
        public double? MaxDistance { get; internal init; }
        /// <summary>Vertebra centres as "x,y" pixel indices joined with "; ".</summary>
        public string? CentersPx { get; internal init; }

        // Shape features
        /// <summary>Centroid (mean pixel index times spacing) or the bounding box's first column and row, in Unit.</summary>
        public double? X { get; internal init; }
        public double? Y { get; internal init; }
        /// <summary>Bounding box size (columns and rows covered, times spacing), in Unit.</summary>
        public double? Width { get; internal init; }
        public double? Height { get; internal init; }
        /// <summary>Pixel count times pixel area.</summary>
        public double? Area { get; internal init; }
        /// <summary>Area enclosed by the contour the perimeter is measured on.</summary>
        public double? ContourArea { get; internal init; }
        /// <summary>Area of the convex hull of that contour.</summary>
        public double? ConvexArea { get; internal init; }
        public double? Perimeter { get; internal init; }
        public long? PixelCount { get; internal init; }

        public override string ToString() =>
            $"{FileName} {Feature}{(Label != null ? " " + Label : "")}: {(Value.HasValue ? Value.Value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) + " " + Unit : Status)}";
    }
}
