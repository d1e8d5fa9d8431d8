using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
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
        /// The radiograph behind a result, read again from its file (results keep masks, not pixels). Null, with the
        /// reason in <paramref name="problem"/>, when the file cannot be read any more or no longer has the size it was
        /// segmented at; the overlay is then drawn on black.
        /// </summary>
        public static ImageRaster? LoadPicture(SegmentationResult result, out string? problem)
        {
            problem = null;
            try
            {
                var image = ImageLoader.Load(result.Path);
                if (image.Width == result.Width && image.Height == result.Height) return image.Raster;
                problem = $"'{result.Path}' is now {image.Width}x{image.Height}, not {result.Width}x{result.Height} as segmented; drawing on black.";
            }
            catch (Exception ex) when (ex is CxasException || ex is IOException || ex is UnauthorizedAccessException)
            {
                problem = $"Cannot read '{result.Path}' again ({ex.Message}); drawing on black.";
            }
            return null;
        }
    }
}
