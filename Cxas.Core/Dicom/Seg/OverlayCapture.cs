using System.Globalization;
using Cxas.Rendering;
using Cxas.Segmentation;

namespace Cxas.Dicom.Seg
{
    /// <summary>
    /// An overlay as a DICOM Secondary Capture image (PS3.3 A.8.1), for the many PACS viewers that do not display
    /// DICOM-SEG: the rendered overlay (RGB, 8 bits) in the source's patient and study, in a series of its own, with UIDs
    /// derived from the source instance and the model (a rerun gives the same instance, so a PACS keeps one copy).
    /// Pipeline: a black band reading <see cref="Warning"/> is added above the picture (burned in), then the data set is
    /// written: patient and study copied from the source (as the SEG does), SC equipment (conversion type WSD), image type
    /// DERIVED\SECONDARY, Burned In Annotation YES, the warning again in Image Comments and the series description, the
    /// source image referenced; explicit VR little endian.
    /// </summary>
    public static class OverlayCapture
    {
        public const string SecondaryCaptureStorage = "1.2.840.10008.5.1.4.1.1.7";
        public const string Warning = "NOT FOR DIAGNOSTIC USE";

        /// <summary>The Part 10 bytes of the overlay <paramref name="overlay"/> of <paramref name="result"/> (with the warning band above it), and its SOP instance UID.</summary>
        public static byte[] Build(SegmentationResult result, RgbaCanvas overlay, DateTime now, out string sopInstance)
        {
            var reference = new SourceReference(ResultSeg.IdentityOf(result), result.Path);
            string seed = "cxas-overlay\n" + reference.SopInstance + "\n" + result.Model + "\n" + result.ModelVersion + "\n";
            sopInstance = DicomUid.Derive(seed + "instance");
            string series = DicomUid.Derive(seed + "series");
            var canvas = WithWarning(overlay);

            var data = new DicomDataSetBuilder();
            reference.AddPatientAndStudy(data);
            data.Text(Tags.ImageType, "CS", "DERIVED\\SECONDARY")
                .Text(Tags.SopClassUid, "UI", SecondaryCaptureStorage)
                .Text(Tags.SopInstanceUid, "UI", sopInstance)
                .Text(Tags.ContentDate, "DA", now.ToString("yyyyMMdd", CultureInfo.InvariantCulture))
                .Text(Tags.ContentTime, "TM", now.ToString("HHmmss", CultureInfo.InvariantCulture))
                .Text(Tags.Modality, "CS", "OT")
                .Text(0x00080064, "CS", "WSD") // Conversion Type: workstation
                .Text(Tags.Manufacturer, "LO", "CXAS")
                .Text(Tags.SeriesDescription, "LO", Truncate("Cxas overlay (" + result.Model + ") - " + Warning, 64))
                .Text(0x00082111, "ST", Truncate("Segmentation overlay by " + result.Model + "; " + Warning, 1024)) // Derivation Description
                .Sequence(Tags.SourceImageSequence, reference.Instance())
                .Text(Tags.SoftwareVersions, "LO", DicomSegBuilder.Version)
                .Text(Tags.SeriesInstanceUid, "UI", series)
                .IS(Tags.SeriesNumber, 9901)
                .Text(0x00200060, "CS", "") // Laterality: type 2C, unknown for an overlay of a chest
                .IS(Tags.InstanceNumber, 1)
                .Text(0x00204000, "LT", Warning + ": a segmentation overlay for review, burned into a copy of the image.") // Image Comments
                .US(Tags.SamplesPerPixel, 3)
                .Text(Tags.PhotometricInterpretation, "CS", "RGB")
                .US(Tags.PlanarConfiguration, 0)
                .US(Tags.Rows, canvas.Height)
                .US(Tags.Columns, canvas.Width)
                .US(Tags.BitsAllocated, 8)
                .US(Tags.BitsStored, 8)
                .US(Tags.HighBit, 7)
                .US(0x00280103, 0) // Pixel Representation
                .Text(0x00280301, "CS", "YES") // Burned In Annotation
                .Bytes(Tags.PixelData, "OB", Rgb(canvas));
            var output = new MemoryStream();
            DicomDataSetBuilder.WritePart10(output, DicomDataSetBuilder.FileMeta(SecondaryCaptureStorage, sopInstance, TransferSyntaxes.ExplicitLittle), data);
            return output.ToArray();
        }

        /// <summary>
        /// The picture with a black band added above it holding the warning in white, its letters scaled to about a 40th
        /// of the picture's height (at least one font pixel) and centred, so that neither the legend nor the anatomy is covered.
        /// </summary>
        private static RgbaCanvas WithWarning(RgbaCanvas picture)
        {
            int scale = Math.Max(1, picture.Height / (20 * BitmapFont.GlyphHeight));
            while (scale > 1 && BitmapFont.MeasureWidth(Warning, scale) > picture.Width - 4) scale--;
            int band = BitmapFont.GlyphHeight * scale + 2 * scale + 2;
            var canvas = new RgbaCanvas(picture.Width, picture.Height + band);
            canvas.FillRect(0, 0, canvas.Width, band, new Rgba(0, 0, 0));
            Array.Copy(picture.Pixels, 0, canvas.Pixels, band * canvas.Width * 4, picture.Pixels.Length);
            canvas.Text(Math.Max(0, (canvas.Width - BitmapFont.MeasureWidth(Warning, scale)) / 2), scale + 1, Warning, scale, new Rgba(255, 255, 255));
            return canvas;
        }

        /// <summary>The canvas as interleaved RGB (alpha dropped: the overlay is composited on the opaque radiograph).</summary>
        private static byte[] Rgb(RgbaCanvas canvas)
        {
            var rgba = canvas.Pixels;
            var rgb = new byte[canvas.Width * canvas.Height * 3];
            for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
            {
                rgb[j] = rgba[i];
                rgb[j + 1] = rgba[i + 1];
                rgb[j + 2] = rgba[i + 2];
            }
            return rgb;
        }

        private static string Truncate(string s, int max) => s.Length <= max ? s : s.Substring(0, max);
    }
}
