using Cxas.Masks;

namespace Cxas.Features
{
    /// <summary>
    /// A cardio-thoracic ratio and its construction. Lengths are in the spacing's unit; the *Px members are pixel
    /// indices (column, row) of the points the construction uses, for drawing. Immutable: built once by
    /// <see cref="CardiothoracicRatio"/>.
    /// </summary>
    public sealed class CtrResult
    {
        public CtrMethod Method { get; internal init; }
        public FeatureStatus Status { get; internal init; } = FeatureStatus.OK;
        public string? Message { get; internal init; }
        public double? Ratio { get; internal init; }
        public double HeartWidth { get; internal init; }
        public double ThoracicWidth { get; internal init; }
        public double RightExtent { get; internal init; }
        public double LeftExtent { get; internal init; }
        /// <summary>Midline column in index coordinates (may fall between pixels for the standard method).</summary>
        public double MidlineX { get; internal init; }
        public int HeartRightX { get; internal init; }
        public int HeartRightY { get; internal init; }
        public int HeartLeftX { get; internal init; }
        public int HeartLeftY { get; internal init; }
        public int ThoraxRightX { get; internal init; }
        public int ThoraxLeftX { get; internal init; }
        public int ThoraxY { get; internal init; }
        public bool IsOk => Status == FeatureStatus.OK;
    }

    /// <summary>
    /// Cardio-thoracic ratio from heart and lung masks. "Right" and "left" are the patient's, as seen on a PA view:
    /// the patient's right is the image's left (smaller column indices).
    /// </summary>
    internal static class CardiothoracicRatio
    {
        /// <summary>
        /// Standard CTR: the widest transverse diameter of the heart (from its most lateral point on the right to its
        /// most lateral point on the left, which may lie on different rows) over the widest internal diameter of the
        /// thorax (the widest single row of the lung mask, from the outer edge of one lung to the outer edge of the
        /// other). Widths run edge to edge: a row covering columns a..b is (b - a + 1) columns wide. The midline for
        /// the right/left extents is the centre of that thoracic row.
        /// </summary>
        public static CtrResult Standard(BinaryMask? heart, BinaryMask? lung, PixelSpacing spacing)
        {
            var missing = Missing(CtrMethod.Standard, ("heart", heart), ("lung", lung));
            if (missing != null) return missing;
            var heartRows = MaskGeometry.RowExtents(heart!);
            var lungRows = MaskGeometry.RowExtents(lung!);
            ExtremeColumns(heartRows, out var mostRight, out var mostLeft);
            RowExtent widest = lungRows[0];
            foreach (var r in lungRows) if (r.Span > widest.Span) widest = r;

            double midlineEdge = (widest.Left + widest.Right + 1) / 2.0; // in edge coordinates
            double heartWidth = (mostLeft.Right - mostRight.Left + 1) * spacing.X;
            double thoracicWidth = widest.Span * spacing.X;
            return new CtrResult
            {
                Method = CtrMethod.Standard,
                HeartRightX = mostRight.Left,
                HeartRightY = mostRight.Y,
                HeartLeftX = mostLeft.Right,
                HeartLeftY = mostLeft.Y,
                ThoraxRightX = widest.Left,
                ThoraxLeftX = widest.Right,
                ThoraxY = widest.Y,
                MidlineX = midlineEdge - 0.5,
                HeartWidth = heartWidth,
                ThoracicWidth = thoracicWidth,
                RightExtent = (midlineEdge - mostRight.Left) * spacing.X,
                LeftExtent = (mostLeft.Right + 1 - midlineEdge) * spacing.X,
                Ratio = heartWidth / thoracicWidth,
            };
        }

        /// <summary>
        /// The reference implementation's CTR: midline = the largest column of the right hemidiaphragm mask (its medial
        /// end); MRD = the largest distance from the midline to the heart's leftmost column over all rows, MLD = the same
        /// to the heart's rightmost column (each at least 0); ID = the largest (rightmost - leftmost) column difference of
        /// one lung row; CTR = (MRD + MLD) / ID. Distances are column index differences, as the reference computes them.
        /// </summary>
        public static CtrResult Reference(BinaryMask? heart, BinaryMask? lung, BinaryMask? rightHemidiaphragm, PixelSpacing spacing)
        {
            var missing = Missing(CtrMethod.Reference, ("heart", heart), ("lung", lung), ("right hemidiaphragm", rightHemidiaphragm));
            if (missing != null) return missing;
            int midline = -1;
            foreach (var r in MaskGeometry.RowExtents(rightHemidiaphragm!)) if (r.Right > midline) midline = r.Right;

            var heartRows = MaskGeometry.RowExtents(heart!);
            ExtremeColumns(heartRows, out var mostRight, out var mostLeft);
            int mrd = System.Math.Max(0, midline - mostRight.Left);
            int mld = System.Math.Max(0, mostLeft.Right - midline);

            RowExtent? widest = null;
            foreach (var r in MaskGeometry.RowExtents(lung!))
                if (r.Right - r.Left > (widest?.Right - widest?.Left ?? 0)) widest = r;

            // The heart's construction always; the thorax's and the ratio only when the lung has a width.
            var w = widest ?? default;
            return new CtrResult
            {
                Method = CtrMethod.Reference,
                MidlineX = midline,
                HeartRightX = mostRight.Left,
                HeartRightY = mostRight.Y,
                HeartLeftX = mostLeft.Right,
                HeartLeftY = mostLeft.Y,
                RightExtent = mrd * spacing.X,
                LeftExtent = mld * spacing.X,
                HeartWidth = (mrd + mld) * spacing.X,
                Status = widest == null ? FeatureStatus.Degenerate : FeatureStatus.OK,
                Message = widest == null ? "The lung mask is never wider than one column, so the thoracic diameter is zero." : null,
                ThoraxRightX = w.Left,
                ThoraxLeftX = w.Right,
                ThoraxY = w.Y,
                ThoracicWidth = (w.Right - w.Left) * spacing.X,
                Ratio = widest == null ? (double?)null : (double)(mrd + mld) / (w.Right - w.Left),
            };
        }

        /// <summary>The first row (top down) reaching the smallest column, and the first reaching the largest.</summary>
        private static void ExtremeColumns(List<RowExtent> rows, out RowExtent mostRight, out RowExtent mostLeft)
        {
            mostRight = rows[0];
            mostLeft = rows[0];
            foreach (var r in rows)
            {
                if (r.Left < mostRight.Left) mostRight = r;
                if (r.Right > mostLeft.Right) mostLeft = r;
            }
        }

        /// <summary>The result for a construction lacking one of its structures (naming them all), or null when all are present.</summary>
        private static CtrResult? Missing(CtrMethod method, params (string Name, BinaryMask? Mask)[] masks)
        {
            var missing = new List<string>();
            foreach (var (name, mask) in masks) if (mask == null || mask.IsEmpty()) missing.Add(name);
            if (missing.Count == 0) return null;
            return new CtrResult
            {
                Method = method,
                Status = FeatureStatus.Missing,
                Message = "Not found in the segmentation: " + string.Join(", ", missing) + ".",
            };
        }
    }
}
