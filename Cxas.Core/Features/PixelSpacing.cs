using Cxas.Imaging;

namespace Cxas.Features
{
    /// <summary>
    /// The physical size of one pixel: <see cref="X"/> between columns, <see cref="Y"/> between rows. When the source
    /// states no spacing both are 1 and lengths come out in pixels.
    /// </summary>
    public readonly struct PixelSpacing
    {
        public PixelSpacing(double x, double y, bool isPhysical, string? source = null)
        {
            if (!(x > 0) || !(y > 0) || double.IsInfinity(x) || double.IsInfinity(y))
                throw new ArgumentOutOfRangeException(nameof(x), "Pixel spacing must be positive and finite.");
            X = x;
            Y = y;
            IsPhysical = isPhysical;
            Source = source;
        }

        public static PixelSpacing Pixels => new PixelSpacing(1, 1, false);

        public static PixelSpacing Millimetres(double column, double row, string? source = null) =>
            new PixelSpacing(column, row, true, source);

        /// <summary>The spacing a source states (columns from ColumnSpacingMm, rows from RowSpacingMm), else pixels.</summary>
        public static PixelSpacing From(SourceInfo? info)
        {
            if (info?.ColumnSpacingMm is double cx && info.RowSpacingMm is double ry && cx > 0 && ry > 0
                && !double.IsInfinity(cx) && !double.IsInfinity(ry))
                return Millimetres(cx, ry, info.SpacingSource);
            return Pixels;
        }

        /// <summary>Column spacing (mm per column, or 1).</summary>
        public double X { get; }
        /// <summary>Row spacing (mm per row, or 1).</summary>
        public double Y { get; }
        public bool IsPhysical { get; }
        public string? Source { get; }
        public string LengthUnit => IsPhysical ? "mm" : "px";
        public string AreaUnit => IsPhysical ? "mm^2" : "px^2";
    }
}
