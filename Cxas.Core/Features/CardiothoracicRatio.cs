using Cxas.Masks;

namespace Cxas.Features
{
    /// <summary>
    /// A cardio-thoracic ratio and its construction. Lengths are in the spacing's unit; the *Px members are pixel
    /// indices (column, row) of the points the construction uses, for drawing.
    /// </summary>
    public sealed class CtrResult
    {
        public CtrMethod Method { get; internal set; }
        public string Status { get; internal set; } = FeatureStatus.Ok;
        public string? Message { get; internal set; }
        public double? Ratio { get; internal set; }
        public double HeartWidth { get; internal set; }
        public double ThoracicWidth { get; internal set; }
        public double RightExtent { get; internal set; }
        public double LeftExtent { get; internal set; }
        /// <summary>Midline column in index coordinates (may fall between pixels for the standard method).</summary>
        public double MidlineX { get; internal set; }
        public int HeartRightX { get; internal set; }
        public int HeartRightY { get; internal set; }
        public int HeartLeftX { get; internal set; }
        public int HeartLeftY { get; internal set; }
        public int ThoraxRightX { get; internal set; }
        public int ThoraxLeftX { get; internal set; }
        public int ThoraxY { get; internal set; }
        public bool IsOk => Status == FeatureStatus.Ok;
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
            var result = new CtrResult { Method = CtrMethod.Standard };
            if (!CheckPresent(result, ("heart", heart), ("lung", lung))) return result;
            var heartRows = MaskGeometry.RowExtents(heart!);
            var lungRows = MaskGeometry.RowExtents(lung!);
            ExtremeColumns(heartRows, out var mostRight, out var mostLeft);
            RowExtent widest = lungRows[0];
            foreach (var r in lungRows) if (r.Span > widest.Span) widest = r;

            double midlineEdge = (widest.Left + widest.Right + 1) / 2.0; // in edge coordinates
            result.HeartRightX = mostRight.Left;
            result.HeartRightY = mostRight.Y;
            result.HeartLeftX = mostLeft.Right;
            result.HeartLeftY = mostLeft.Y;
            result.ThoraxRightX = widest.Left;
            result.ThoraxLeftX = widest.Right;
            result.ThoraxY = widest.Y;
            result.MidlineX = midlineEdge - 0.5;
            result.HeartWidth = (mostLeft.Right - mostRight.Left + 1) * spacing.X;
            result.ThoracicWidth = widest.Span * spacing.X;
            result.RightExtent = (midlineEdge - mostRight.Left) * spacing.X;
            result.LeftExtent = (mostLeft.Right + 1 - midlineEdge) * spacing.X;
            result.Ratio = result.HeartWidth / result.ThoracicWidth;
            return result;
        }

        /// <summary>
        /// The reference implementation's CTR: midline = the largest column of the right hemidiaphragm mask (its medial
        /// end); MRD = the largest distance from the midline to the heart's leftmost column over all rows, MLD = the same
        /// to the heart's rightmost column (each at least 0); ID = the largest (rightmost - leftmost) column difference of
        /// one lung row; CTR = (MRD + MLD) / ID. Distances are column index differences, as the reference computes them.
        /// </summary>
        public static CtrResult Reference(BinaryMask? heart, BinaryMask? lung, BinaryMask? rightHemidiaphragm, PixelSpacing spacing)
        {
            var result = new CtrResult { Method = CtrMethod.Reference };
            if (!CheckPresent(result, ("heart", heart), ("lung", lung), ("right hemidiaphragm", rightHemidiaphragm))) return result;
            int midline = -1;
            foreach (var r in MaskGeometry.RowExtents(rightHemidiaphragm!)) if (r.Right > midline) midline = r.Right;

            var heartRows = MaskGeometry.RowExtents(heart!);
            ExtremeColumns(heartRows, out var mostRight, out var mostLeft);
            int mrd = System.Math.Max(0, midline - mostRight.Left);
            int mld = System.Math.Max(0, mostLeft.Right - midline);

            RowExtent? widest = null;
            foreach (var r in MaskGeometry.RowExtents(lung!))
                if (r.Right - r.Left > (widest?.Right - widest?.Left ?? 0)) widest = r;

            result.MidlineX = midline;
            result.HeartRightX = mostRight.Left;
            result.HeartRightY = mostRight.Y;
            result.HeartLeftX = mostLeft.Right;
            result.HeartLeftY = mostLeft.Y;
            result.RightExtent = mrd * spacing.X;
            result.LeftExtent = mld * spacing.X;
            result.HeartWidth = (mrd + mld) * spacing.X;
            if (widest == null)
            {
                result.Status = FeatureStatus.Degenerate;
                result.Message = "The lung mask is never wider than one column, so the thoracic diameter is zero.";
                return result;
            }
            var w = widest.Value;
            result.ThoraxRightX = w.Left;
            result.ThoraxLeftX = w.Right;
            result.ThoraxY = w.Y;
            result.ThoracicWidth = (w.Right - w.Left) * spacing.X;
            result.Ratio = (double)(mrd + mld) / (w.Right - w.Left);
            return result;
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

        private static bool CheckPresent(CtrResult result, params (string Name, BinaryMask? Mask)[] masks)
        {
            var missing = new List<string>();
            foreach (var (name, mask) in masks) if (mask == null || mask.IsEmpty()) missing.Add(name);
            if (missing.Count == 0) return true;
            result.Status = FeatureStatus.Missing;
            result.Message = "Not found in the segmentation: " + string.Join(", ", missing) + ".";
            return false;
        }
    }
}
