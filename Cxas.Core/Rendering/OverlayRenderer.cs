using System.Globalization;
using Cxas.Features;
using Cxas.Imaging;
using Cxas.Masks;

namespace Cxas.Rendering
{
    /// <summary>What an overlay shows. Options a caller fills, so settable.</summary>
    public sealed class OverlayOptions
    {
        /// <summary>Classes to fill and outline, drawn in this order (later ones on top).</summary>
        public IList<string> Labels { get; set; } = new List<string>();
        /// <summary>Fill opacity in [0, 1].</summary>
        public double FillOpacity { get; set; } = 0.35;
        /// <summary>Outline width in output pixels; null picks one from the output size.</summary>
        public int? OutlineWidth { get; set; }
        /// <summary>Longest side of the output in pixels; null keeps the image's own size.</summary>
        public int? MaxSize { get; set; }
        public bool Legend { get; set; } = true;
        /// <summary>Colours by class name, overriding the palette.</summary>
        public IDictionary<string, Rgba> Colors { get; set; } = new Dictionary<string, Rgba>(StringComparer.OrdinalIgnoreCase);
        /// <summary>CTR constructions to draw (one per method).</summary>
        public IList<CtrResult> Ctr { get; set; } = new List<CtrResult>();
        public ScdResult? Scd { get; set; }
        /// <summary>The spacing the SCD line was fitted with (needed to draw it).</summary>
        public PixelSpacing Spacing { get; set; } = PixelSpacing.Pixels;
        /// <summary>Extra legend lines (e.g. feature values).</summary>
        public IList<string> Notes { get; set; } = new List<string>();
    }

    /// <summary>
    /// Draws radiograph overlays: the image, each chosen class as a translucent fill with an opaque outline, the
    /// CTR and SCD constructions, and a legend. Also draws the same parts as separate transparent layers for reports.
    /// The image is the caller's: <see cref="Segmentation.SegmentationResult.LoadSourceImage"/> gives the one a result was
    /// segmented from without decoding it again while it is still in memory (its cache policy is stated there).
    /// </summary>
    internal static class OverlayRenderer
    {
        /// <summary>Output size for an image of <paramref name="width"/> x <paramref name="height"/> limited to <paramref name="maxSize"/>.</summary>
        public static (int Width, int Height) OutputSize(int width, int height, int? maxSize)
        {
            if (maxSize is int m && m > 0 && Math.Max(width, height) > m)
            {
                double s = (double)m / Math.Max(width, height);
                return (Math.Max(1, (int)Math.Round(width * s)), Math.Max(1, (int)Math.Round(height * s)));
            }
            return (width, height);
        }

        public static int DefaultOutlineWidth(int width, int height) => Math.Max(1, (int)Math.Round(Math.Min(width, height) / 400.0));

        public static Rgba ColorFor(MaskSet masks, int c, IDictionary<string, Rgba>? overrides) =>
            overrides != null && overrides.TryGetValue(masks.Labels[c], out var color) ? color : Palette.ForLabel(masks.Labels[c], c);

        /// <summary>Resolves labels to class indices, failing on unknown names.</summary>
        public static List<int> ClassIndices(MaskSet masks, IEnumerable<string> labels)
        {
            var list = new List<int>();
            foreach (var label in labels)
            {
                int c = masks.IndexOf(label);
                if (c < 0) throw new CxasException(CxasErrorKind.InvalidArgument, $"Label '{label}' is not one of this model's {masks.Count} classes.");
                if (!list.Contains(c)) list.Add(c);
            }
            return list;
        }

        /// <summary>The complete overlay: image (or black when null), classes, constructions and legend.</summary>
        public static RgbaCanvas Render(ImageRaster? image, MaskSet masks, OverlayOptions options)
        {
            var (w, h) = OutputSize(masks.Width, masks.Height, options.MaxSize);
            var canvas = new RgbaCanvas(w, h);
            if (image != null) canvas.DrawImage(image);
            else canvas.FillRect(0, 0, w, h, new Rgba(0, 0, 0));
            int outline = options.OutlineWidth ?? DefaultOutlineWidth(w, h);
            var legend = new List<(Rgba? Color, string Text)>();
            foreach (int c in ClassIndices(masks, options.Labels))
            {
                var color = ColorFor(masks, c, options.Colors);
                DrawClass(canvas, masks, c, color, options.FillOpacity, outline);
                legend.Add((color, masks.Labels[c] + (masks.PixelCounts[c] == 0 ? " (not found)" : "")));
            }
            DrawFeatures(canvas, masks.Width, masks.Height, options);
            foreach (var note in options.Notes) legend.Add((null, note));
            if (options.Legend && legend.Count > 0) DrawLegend(canvas, legend);
            return canvas;
        }

        public static void DrawClass(RgbaCanvas canvas, MaskSet masks, int c, Rgba color, double fillOpacity, int outlineWidth)
        {
            byte fillAlpha = (byte)Math.Round(Math.Max(0, Math.Min(1, fillOpacity)) * 255);
            canvas.DrawClass(masks, c, color.WithAlpha(fillAlpha), color.WithAlpha(255), outlineWidth);
        }

        /// <summary>One class on a transparent canvas of the given size (a report layer).</summary>
        public static RgbaCanvas ClassLayer(MaskSet masks, int c, int width, int height, Rgba color, double fillOpacity, int outlineWidth)
        {
            var canvas = new RgbaCanvas(width, height);
            DrawClass(canvas, masks, c, color, fillOpacity, outlineWidth);
            return canvas;
        }

        /// <summary>
        /// Draws the CTR and SCD constructions of an image of <paramref name="imageWidth"/> x <paramref name="imageHeight"/>
        /// onto a canvas of any size (coordinates are scaled).
        /// </summary>
        public static void DrawFeatures(RgbaCanvas canvas, int imageWidth, int imageHeight, OverlayOptions options)
        {
            var map = new CoordinateMap(canvas, imageWidth, imageHeight);
            double line = Math.Max(1.5, Math.Min(canvas.Width, canvas.Height) / 250.0);
            foreach (var ctr in options.Ctr) DrawCtr(canvas, map, ctr, line);
            if (options.Scd != null) DrawScd(canvas, map, options.Scd, options.Spacing, line);
        }

        private static void DrawCtr(RgbaCanvas canvas, CoordinateMap map, CtrResult r, double line)
        {
            if (r.Status == FeatureStatus.Missing) return;
            // The standard method measures edge to edge; the reference measures between pixel indices.
            double edge = r.Method == CtrMethod.Standard ? 0.5 : 0;
            double point = line * 1.8;
            var heartRight = map.Point(r.HeartRightX - edge, r.HeartRightY);
            var heartLeft = map.Point(r.HeartLeftX + edge, r.HeartLeftY);
            var midRight = map.Point(r.MidlineX, r.HeartRightY);
            var midLeft = map.Point(r.MidlineX, r.HeartLeftY);
            if (r.IsOk)
            {
                var thoraxRight = map.Point(r.ThoraxRightX - edge, r.ThoraxY);
                var thoraxLeft = map.Point(r.ThoraxLeftX + edge, r.ThoraxY);
                canvas.Line(thoraxRight.X, thoraxRight.Y, thoraxLeft.X, thoraxLeft.Y, line, Palette.Thorax);
                canvas.Disc(thoraxRight.X, thoraxRight.Y, point, Palette.Thorax);
                canvas.Disc(thoraxLeft.X, thoraxLeft.Y, point, Palette.Thorax);
                double top = Math.Min(Math.Min(r.HeartRightY, r.HeartLeftY), r.ThoraxY);
                double bottom = Math.Max(Math.Max(r.HeartRightY, r.HeartLeftY), r.ThoraxY);
                var a = map.Point(r.MidlineX, top);
                var b = map.Point(r.MidlineX, bottom);
                canvas.DashedLine(a.X, a.Y - 4 * line, b.X, b.Y + 4 * line, Math.Max(1, line / 2), 3 * line, Palette.Midline);
            }
            canvas.Line(heartRight.X, heartRight.Y, midRight.X, midRight.Y, line, Palette.HeartExtent);
            canvas.Line(midLeft.X, midLeft.Y, heartLeft.X, heartLeft.Y, line, Palette.HeartExtent);
            canvas.Disc(heartRight.X, heartRight.Y, point, Palette.Point);
            canvas.Disc(heartLeft.X, heartLeft.Y, point, Palette.Point);
            canvas.Disc(midRight.X, midRight.Y, point * 0.7, Palette.HeartExtent);
            canvas.Disc(midLeft.X, midLeft.Y, point * 0.7, Palette.HeartExtent);
        }

        private static void DrawScd(RgbaCanvas canvas, CoordinateMap map, ScdResult r, PixelSpacing spacing, double line)
        {
            if (r.Centers.Count == 0) return;
            double point = line * 1.8;
            if (r.IsOk)
            {
                double top = double.MaxValue, bottom = double.MinValue;
                foreach (var c in r.Centers) { top = Math.Min(top, c.Y); bottom = Math.Max(bottom, c.Y); }
                var a = map.Point(r.LineXAt(top, spacing), top);
                var b = map.Point(r.LineXAt(bottom, spacing), bottom);
                canvas.Line(a.X, a.Y, b.X, b.Y, line, Palette.SpineLine);
                double slope = r.Slope!.Value, intercept = r.Intercept!.Value, norm2 = 1 + slope * slope;
                foreach (var c in r.Centers)
                {
                    // Foot of the perpendicular, in physical coordinates, then back to pixel indices.
                    double px = c.X * spacing.X, py = c.Y * spacing.Y;
                    double t = ((px - intercept) * slope + py) / norm2;
                    var foot = map.Point((intercept + slope * t) / spacing.X, t / spacing.Y);
                    var centre = map.Point(c.X, c.Y);
                    canvas.Line(centre.X, centre.Y, foot.X, foot.Y, Math.Max(1, line / 2), Palette.Connector);
                }
            }
            foreach (var c in r.Centers)
            {
                var p = map.Point(c.X, c.Y);
                canvas.Disc(p.X, p.Y, point, Palette.SpineCenter);
            }
        }

        /// <summary>A legend box in the top-left corner: a swatch and a line of text per entry (no swatch when null).</summary>
        public static void DrawLegend(RgbaCanvas canvas, IList<(Rgba? Color, string Text)> entries)
        {
            int scale = Math.Max(1, (int)Math.Ceiling(Math.Min(canvas.Width, canvas.Height) / 400.0));
            int lineHeight = (BitmapFont.GlyphHeight + 4) * scale;
            int swatch = BitmapFont.GlyphHeight * scale;
            int pad = 4 * scale;
            int textWidth = 0;
            foreach (var e in entries) textWidth = Math.Max(textWidth, BitmapFont.MeasureWidth(e.Text, scale));
            int boxWidth = pad + swatch + pad + textWidth + pad;
            int boxHeight = pad + entries.Count * lineHeight - 4 * scale + pad;
            canvas.FillRect(pad, pad, boxWidth, boxHeight, new Rgba(0, 0, 0, 180));
            int y = 2 * pad;
            foreach (var e in entries)
            {
                if (e.Color is Rgba c) canvas.FillRect(2 * pad, y, swatch, swatch, c.WithAlpha(255));
                canvas.Text(2 * pad + swatch + pad, y, e.Text, scale, new Rgba(255, 255, 255));
                y += lineHeight;
            }
        }

        /// <summary>Legend text for a feature value, e.g. "CTR (standard) 0.48".</summary>
        public static string Note(FeatureValue v)
        {
            string name = v.Feature + (v.Method != null ? " (" + v.Method + ")" : "");
            if (v.Value is double d)
                return name + " " + d.ToString(v.Unit == "ratio" ? "0.000" : "0.##", CultureInfo.InvariantCulture) + (v.Unit == "ratio" ? "" : " " + v.Unit);
            return name + ": " + v.Status;
        }

        /// <summary>Maps image pixel indices to canvas coordinates (pixel centres to pixel centres).</summary>
        private readonly struct CoordinateMap
        {
            private readonly double _sx, _sy;
            public CoordinateMap(RgbaCanvas canvas, int imageWidth, int imageHeight)
            {
                _sx = (double)canvas.Width / imageWidth;
                _sy = (double)canvas.Height / imageHeight;
            }
            public (double X, double Y) Point(double x, double y) => ((x + 0.5) * _sx, (y + 0.5) * _sy);
        }
    }
}
