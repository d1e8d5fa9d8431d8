using Cxas.Features;
using Cxas.Imaging;
using Cxas.Rendering;
using Cxas.Segmentation;

namespace Cxas.Reporting
{
    /// <summary>One transparent picture layer of a report image (a class, or the feature construction).</summary>
    public sealed class ReportLayer
    {
        public string Name { get; set; } = "";
        /// <summary>"#RRGGBB" for the legend swatch.</summary>
        public string Color { get; set; } = "#FFFFFF";
        /// <summary>Whether the class was found (absent classes get an empty layer and a note).</summary>
        public bool Present { get; set; } = true;
        public bool Visible { get; set; } = true;
        public byte[] Png { get; set; } = Array.Empty<byte>();
    }

    /// <summary>Everything the report shows for one image, already encoded.</summary>
    public sealed class ReportItem
    {
        public string Path { get; set; } = "";
        public string FileName => System.IO.Path.GetFileName(Path);
        public int Width { get; set; }
        public int Height { get; set; }
        public int DisplayWidth { get; set; }
        public int DisplayHeight { get; set; }
        public string? SpacingNote { get; set; }
        public List<FeatureValue> Features { get; } = new List<FeatureValue>();
        /// <summary>The radiograph (JPEG), or null when the image could not be read (the layers sit on black).</summary>
        public byte[]? BaseJpeg { get; set; }
        public List<ReportLayer> Layers { get; } = new List<ReportLayer>();
        /// <summary>The constructions (one layer per CTR method, one for SCD) as transparent PNGs.</summary>
        public List<ReportLayer> ConstructionLayers { get; } = new List<ReportLayer>();
    }

    /// <summary>What a report item is made of. Options a caller fills, so settable.</summary>
    public sealed class ReportOptions
    {
        /// <summary>Classes with a toggle layer each.</summary>
        public IList<string> Labels { get; set; } = new List<string> { "lung", "heart", "right hemidiaphragm", "spine" };
        /// <summary>
        /// True when <see cref="Labels"/> is the default list rather than the user's: classes a model does not have are
        /// then left out instead of being an error (the default anatomy model has no diaphragm or spine classes).
        /// </summary>
        public bool LabelsAreDefaults { get; set; }
        /// <summary>Classes whose layer starts switched on (default: all of <see cref="Labels"/>).</summary>
        public ISet<string>? InitiallyVisible { get; set; }
        public IList<FeatureKind> Features { get; set; } = new List<FeatureKind> { FeatureKind.CTR, FeatureKind.SCD };
        public IList<CtrMethod> CtrMethods { get; set; } = new List<CtrMethod> { CtrMethod.Standard };
        /// <summary>Labels for the shape features.</summary>
        public IList<string> ShapeLabels { get; set; } = new List<string>();
        /// <summary>Longest side of the pictures in the report.</summary>
        public int MaxSize { get; set; } = 1024;
        public double FillOpacity { get; set; } = 0.4;
        public int JpegQuality { get; set; } = 88;
        public IDictionary<string, Rgba> Colors { get; set; } = new Dictionary<string, Rgba>(StringComparer.OrdinalIgnoreCase);
    }

    public static class ReportItems
    {
        /// <summary>
        /// Measures and draws one segmented image for the report, on <paramref name="image"/> (null: on black). The report
        /// never decodes images itself: the caller passes the result's, which
        /// <see cref="SegmentationResult.LoadSourceImage"/> reuses while it is still in memory.
        /// </summary>
        public static ReportItem Create(SegmentationResult result, ImageRaster? image, ReportOptions options)
        {
            var masks = result.Masks;
            var extractor = new FeatureExtractor(result);
            var (w, h) = OverlayRenderer.OutputSize(masks.Width, masks.Height, options.MaxSize);
            var item = new ReportItem
            {
                Path = result.Path,
                Width = masks.Width,
                Height = masks.Height,
                DisplayWidth = w,
                DisplayHeight = h,
                SpacingNote = extractor.Spacing.IsPhysical
                    ? FormattableString.Invariant($"{extractor.Spacing.X:0.####} x {extractor.Spacing.Y:0.####} mm ({extractor.Spacing.Source ?? "stated"})")
                    : "no pixel spacing: lengths in pixels",
            };

            var drawing = new OverlayOptions { Spacing = extractor.Spacing };
            foreach (var kind in options.Features.Distinct())
            {
                if (kind == FeatureKind.CTR)
                {
                    foreach (var method in options.CtrMethods.Distinct())
                    {
                        var ctr = extractor.Ctr(method);
                        drawing.Ctr.Add(ctr);
                        item.Features.Add(extractor.ToValue(ctr));
                    }
                }
                else if (kind == FeatureKind.SCD)
                {
                    var scd = extractor.Scd();
                    drawing.Scd = scd;
                    item.Features.Add(extractor.ToValue(scd));
                }
                else
                {
                    var shapeLabels = options.LabelsAreDefaults ? options.ShapeLabels.Where(l => masks.IndexOf(l) >= 0) : options.ShapeLabels;
                    foreach (var label in shapeLabels) item.Features.Add(extractor.Shape(kind, label));
                }
            }

            if (image != null)
            {
                var baseCanvas = new RgbaCanvas(w, h);
                baseCanvas.DrawImage(image);
                item.BaseJpeg = baseCanvas.ToJpeg(options.JpegQuality);
            }
            int outline = OverlayRenderer.DefaultOutlineWidth(w, h);
            var layerLabels = options.LabelsAreDefaults ? options.Labels.Where(l => masks.IndexOf(l) >= 0) : options.Labels;
            foreach (int c in OverlayRenderer.ClassIndices(masks, layerLabels))
            {
                var color = OverlayRenderer.ColorFor(masks, c, options.Colors);
                string name = masks.Labels[c];
                item.Layers.Add(new ReportLayer
                {
                    Name = name,
                    Color = color.ToHex(),
                    Present = masks.PixelCounts[c] > 0,
                    Visible = options.InitiallyVisible == null || options.InitiallyVisible.Contains(name),
                    Png = OverlayRenderer.ClassLayer(masks, c, w, h, color, options.FillOpacity, outline).ToPng(),
                });
            }
            foreach (var ctr in drawing.Ctr)
                item.ConstructionLayers.Add(Construction(masks.Width, masks.Height, w, h, $"CTR construction ({ctr.Method.ToString().ToLowerInvariant()})",
                    ctr.Status != FeatureStatus.Missing, Palette.Thorax, new OverlayOptions { Ctr = new[] { ctr } }));
            if (drawing.Scd != null)
                item.ConstructionLayers.Add(Construction(masks.Width, masks.Height, w, h, "SCD construction",
                    drawing.Scd.Centers.Count > 0, Palette.SpineLine, new OverlayOptions { Scd = drawing.Scd, Spacing = extractor.Spacing }));
            return item;
        }

        private static ReportLayer Construction(int imageWidth, int imageHeight, int w, int h, string name, bool present, Rgba color, OverlayOptions what)
        {
            var layer = new RgbaCanvas(w, h);
            OverlayRenderer.DrawFeatures(layer, imageWidth, imageHeight, what);
            return new ReportLayer { Name = name, Color = color.ToHex(), Present = present, Png = layer.ToPng() };
        }
    }
}
