using Cxas.Features;
using Cxas.Imaging;
using Cxas.Segmentation;

namespace Cxas.Rendering
{
    /// <summary>
    /// The overlay of one segmentation result, composed as Export-CxasOverlay writes it: the radiograph behind the result
    /// (<see cref="LoadPicture"/>), the chosen classes, and for each feature asked for its construction on the picture
    /// and its value in the legend (CTR once per method, SCD once).
    /// </summary>
    public static class ResultOverlay
    {
        public static RgbaCanvas Render(SegmentationResult result, ImageRaster? picture, OverlayOptions options,
            IEnumerable<FeatureKind> features, IEnumerable<CtrMethod> ctrMethods)
        {
            var extractor = new FeatureExtractor(result);
            options.Spacing = extractor.Spacing;
            var kinds = features.Distinct().ToList();
            if (kinds.Contains(FeatureKind.CTR))
                foreach (var method in ctrMethods.Distinct())
                {
                    var ctr = extractor.Ctr(method);
                    options.Ctr.Add(ctr);
                    options.Notes.Add(OverlayRenderer.Note(extractor.ToValue(ctr)));
                }
            if (kinds.Contains(FeatureKind.SCD))
            {
                options.Scd = extractor.Scd();
                options.Notes.Add(OverlayRenderer.Note(extractor.ToValue(options.Scd)));
            }
            return OverlayRenderer.Render(picture, result.Masks, options);
        }

        /// <summary>
        /// The radiograph behind a result (<see cref="SegmentationResult.LoadSourceImage"/>: the decoded image while it is
        /// still in memory, else the file decoded again). Null, with the reason in <paramref name="problem"/>, when the
        /// file cannot be read any more or no longer has the size it was segmented at; the overlay is then drawn on black.
        /// </summary>
        public static ImageRaster? LoadPicture(SegmentationResult result, out string? problem)
        {
            problem = null;
            try
            {
                return result.LoadSourceImage().Raster;
            }
            catch (Exception ex) when (ex is CxasException || ex is IOException || ex is UnauthorizedAccessException)
            {
                problem = $"Cannot draw on '{result.Path}' ({ex.Message}); drawing on black.";
                return null;
            }
        }
    }
}
