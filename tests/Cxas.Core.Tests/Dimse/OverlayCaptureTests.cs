using Cxas.Core.Tests.Dicom;
using Cxas.Dicom.Seg;
using Cxas.Dimse;
using Cxas.Imaging;
using Cxas.Masks;
using Cxas.Rendering;

namespace Cxas.Core.Tests.Dimse
{
    /// <summary>
    /// The overlay as a Secondary Capture (Export-CxasOverlay -Format dicom): dciodvfy validates the IOD, pydicom reads the
    /// header and the RGB pixels (the overlay's, with the burned-in warning band), the UIDs are derived (same on a rerun,
    /// new series in the source's study), and dcmtk's storescp accepts it by C-STORE.
    /// </summary>
    public sealed class OverlayCaptureTests
    {
        private static (SegmentationResult Result, RgbaCanvas Canvas, SyntheticDicom.Options Source) Overlay(string dir)
        {
            var (path, o) = DimseFixtures.Radiograph(dir, 500, rows: 300, cols: 240);
            var image = ImageLoader.Load(path);
            var masks = new MaskSet(new[] { "lung", "heart" }, 30, 24, image.Width, image.Height);
            for (int gy = 8; gy < 20; gy++)
                for (int gx = 6; gx < 18; gx++) masks.SetGridBit(gy < 14 ? 0 : 1, gx, gy, true);
            var result = new SegmentationResult(image.Info, masks.Width, masks.Height, "cxas-test", "/models/x", "cpu", masks, TimeSpan.Zero, TimeSpan.Zero);
            var canvas = ResultOverlay.Render(result, image.Raster, new OverlayOptions { Labels = new List<string> { "lung", "heart" } },
                Array.Empty<Cxas.Features.FeatureKind>(), Array.Empty<Cxas.Features.CtrMethod>());
            return (result, canvas, o);
        }

        [OracleFact("dciodvfy", "pydicom")]
        public void The_overlay_is_a_valid_secondary_capture_in_the_source_study_flagged_not_for_diagnosis()
        {
            Oracles.Require("dciodvfy", "pydicom");
            var dir = TestSupport.NewTempDir("cxas-sc");
            var (result, canvas, source) = Overlay(dir);
            var expected = (byte[])canvas.Pixels.Clone();
            var bytes = OverlayCapture.Build(result, canvas, new DateTime(2026, 12, 7, 8, 0, 0), out var sop);
            var file = Path.Combine(dir, "overlay.dcm");
            File.WriteAllBytes(file, bytes);

            var report = TestSupport.Run("dciodvfy", new[] { file });
            Assert.DoesNotContain("Error", report.Out + report.Err);

            var raw = Path.Combine(dir, "rgb.raw");
            var header = TestSupport.Python(
                "import sys, pydicom, numpy as np\n" +
                "d = pydicom.dcmread(sys.argv[1]); open(sys.argv[2], 'wb').write(np.ascontiguousarray(d.pixel_array, dtype=np.uint8).tobytes())\n" +
                "print('|'.join([d.SOPClassUID, d.SOPInstanceUID, d.StudyInstanceUID, d.SeriesInstanceUID, d.PatientID, d.BurnedInAnnotation, d.ImageComments,\n" +
                "  d.SeriesDescription, d.SourceImageSequence[0].ReferencedSOPInstanceUID, d.PhotometricInterpretation, str(d.pixel_array.shape)]))", file, raw).Trim().Split('|');
            Assert.Equal(OverlayCapture.SecondaryCaptureStorage, header[0]);
            Assert.Equal(sop, header[1]);
            Assert.Equal(source.Study, header[2]);
            Assert.NotEqual(source.Series, header[3]);
            Assert.Equal(source.PatientId, header[4]);
            Assert.Equal("YES", header[5]);
            Assert.Contains("NOT FOR DIAGNOSTIC USE", header[6]);
            Assert.Contains("NOT FOR DIAGNOSTIC USE", header[7]);
            Assert.Equal(source.Instance, header[8]);
            Assert.Equal("RGB", header[9]);

            // Pixels (pydicom's decoding): a band above, black with the white letters, then the overlay unchanged.
            var rgb = File.ReadAllBytes(raw);
            int width = canvas.Width, band = rgb.Length / (3 * width) - canvas.Height;
            Assert.Equal(width * (canvas.Height + band) * 3, rgb.Length);
            Assert.InRange(band, 9, 40);
            Assert.Equal($"({canvas.Height + band}, {width}, 3)", header[10]);
            long white = 0, black = 0;
            for (int i = 0; i < band * width * 3; i += 3)
            {
                if (rgb[i] == 255 && rgb[i + 1] == 255 && rgb[i + 2] == 255) white++;
                if (rgb[i] == 0 && rgb[i + 1] == 0 && rgb[i + 2] == 0) black++;
            }
            Assert.True(white > 50 && white + black == band * width, $"{white} white and {black} black pixels in the band of {band} rows");
            for (int p = 0; p < canvas.Width * canvas.Height; p++)
            {
                int i = (band * width + p) * 3, j = p * 4;
                Assert.True(rgb[i] == expected[j] && rgb[i + 1] == expected[j + 1] && rgb[i + 2] == expected[j + 2], $"pixel {p % width},{p / width}");
            }

            // Derived UIDs: the same result gives the same instance again.
            OverlayCapture.Build(result, Overlay(dir).Canvas, DateTime.Now, out var again);
            Assert.Equal(sop, again);
        }

        [OracleFact("storescp", "pydicom")]
        public void The_secondary_capture_is_storable_by_C_STORE()
        {
            Oracles.Require("storescp", "pydicom");
            var dir = TestSupport.NewTempDir("cxas-sc");
            var (result, canvas, _) = Overlay(dir);
            var bytes = OverlayCapture.Build(result, canvas, DateTime.Now, out var sop);
            var file = Path.Combine(dir, "overlay.dcm");
            File.WriteAllBytes(file, bytes);
            using var scp = PeerProcess.StoreScp("STORESCP");
            var outcome = new DimseClient(DimseFixtures.Peer(scp.Port, "STORESCP")).Store(file, bytes);
            Assert.Equal(0, outcome.Status);
            Assert.Equal("same", DimseFixtures.PydicomCompare(file, Assert.Single(Directory.GetFiles(Path.Combine(scp.Folder, "in")))));
        }
    }
}
