using Cxas.Features;
using static Cxas.Core.Tests.Features.Synthetic;

namespace Cxas.Core.Tests.Features
{
    public class FeatureExtractorTests
    {
        // Grid 50 x 40, image 100 x 80: every grid cell becomes a 2 x 2 block at full resolution.
        private static Cxas.Segmentation.SegmentationResult Build(double? mm = null)
        {
            var grid = new Dictionary<string, Func<int, int, bool>>
            {
                ["lung"] = Union(Rect(5, 5, 15, 25), Rect(30, 5, 15, 25)),    // full res: columns 10..39 and 60..89
                ["heart"] = Union(Rect(17, 20, 16, 10), Rect(33, 25, 5, 3)),  // full res: columns 34..65, bulge to 75
                ["right hemidiaphragm"] = Rect(5, 30, 18, 2),                 // full res: columns 10..45
                ["vertebrae T1"] = Rect(24, 2, 3, 3),                         // full res centres (49.5, 5.5), ...
                ["vertebrae T2"] = Rect(25, 10, 3, 3),
                ["vertebrae T3"] = Rect(24, 18, 3, 3),
                ["vertebrae C7"] = Rect(40, 0, 2, 2),                         // not one of the reference's SCD vertebrae
            };
            return Result(Set(50, 40, 100, 80, Labels, grid), columnMm: mm, rowMm: mm);
        }

        [Fact]
        public void ShapeFeaturesAreMeasuredAtFullResolution()
        {
            var ex = new FeatureExtractor(Build());
            var area = ex.Compute(FeatureKind.Area, new[] { "right hemidiaphragm" }).Single();
            Assert.Equal(36 * 4, area.Value);
            Assert.Equal("px^2", area.Unit);
            Assert.Equal(FeatureStatus.OK, area.Status);
            var perimeter = ex.Compute(FeatureKind.Perimeter, new[] { "Right Hemidiaphragm" }).Single();
            Assert.Equal("right hemidiaphragm", perimeter.Label);
            Assert.Equal(2 * 35 + 2 * 3 + 4 * Math.Sqrt(0.5), perimeter.Value!.Value, 9);
            var box = ex.Compute(FeatureKind.BoundingBox, new[] { "right hemidiaphragm" }).Single();
            Assert.Equal((10.0, 60.0, 36.0, 4.0), (box.X!.Value, box.Y!.Value, box.Width!.Value, box.Height!.Value));
            Assert.Null(box.Value);
            var centroid = ex.Compute(FeatureKind.Centroid, new[] { "right hemidiaphragm" }).Single();
            Assert.Equal((27.5, 61.5), (centroid.X!.Value, centroid.Y!.Value));
        }

        [Fact]
        public void MillimetreSpacingScalesLengthsAndAreas()
        {
            var ex = new FeatureExtractor(Build(0.25));
            var area = ex.Shape(FeatureKind.Area, "right hemidiaphragm");
            Assert.Equal("mm^2", area.Unit);
            Assert.Equal(144 * 0.0625, area.Value!.Value, 9);
            Assert.Equal("PixelSpacing", area.SpacingSource);
            var compact = ex.Shape(FeatureKind.Compactness, "right hemidiaphragm");
            double p = (2 * 35 + 2 * 3 + 4 * Math.Sqrt(0.5)) * 0.25;
            double enclosed = (144 - 0.5) * 0.0625;   // the 36 x 4 rectangle less its four cut corners
            Assert.Equal("1", compact.Unit);
            Assert.Equal(4 * Math.PI * enclosed / (p * p), compact.Value!.Value, 9);
            var convex = ex.Shape(FeatureKind.Convexity, "right hemidiaphragm");
            Assert.Equal(1.0, convex.Value!.Value, 9);
            Assert.Equal(enclosed, convex.ConvexArea!.Value, 9);
            // The lung's two separate rectangles (each 30 x 50 at full resolution, 20 columns apart) fill part of their hull.
            var lungs = ex.Shape(FeatureKind.Convexity, "lung");
            double lungInside = 2 * (30 * 50 - 0.5) * 0.0625;
            double lungHull = (80 * 50 - 0.5) * 0.0625;  // the contour hull spans both: an 80 x 50 box with cut corners
            Assert.Equal(lungInside / lungHull, lungs.Value!.Value, 9);
        }

        [Fact]
        public void CtrRowsExplainTheirValue()
        {
            var ex = new FeatureExtractor(Build(0.5));
            var rows = ex.Compute(FeatureKind.CTR, ctrMethods: new[] { CtrMethod.Standard, CtrMethod.Reference }).ToList();
            Assert.Equal(2, rows.Count);
            var standard = rows[0];
            Assert.Equal("Standard", standard.Method);
            Assert.Equal("ratio", standard.Unit);
            Assert.Equal(42.0 / 80.0, standard.Value!.Value, 9);   // heart 34..75, thorax 10..89
            Assert.Equal(42 * 0.5, standard.HeartWidth!.Value, 9);
            Assert.Equal(80 * 0.5, standard.ThoracicWidth!.Value, 9);
            Assert.Equal(40, standard.HeartRightYPx);
            Assert.Equal(50, standard.HeartLeftYPx);
            var reference = rows[1];
            Assert.Equal("Reference", reference.Method);
            Assert.Equal((11.0 + 30.0) / 79.0, reference.Value!.Value, 9); // midline 45: 45-34, 75-45; 89-10
            Assert.Equal(45, reference.MidlineXPx);
        }

        [Fact]
        public void ScdRowListsTheVertebraeUsed()
        {
            var v = new FeatureExtractor(Build()).Compute(FeatureKind.SCD).Single();
            Assert.Equal(FeatureStatus.OK, v.Status);
            Assert.Equal(3, v.VertebraCount);
            Assert.Equal("vertebrae T1; vertebrae T2; vertebrae T3", v.Vertebrae);
            // Full-res centres: x = 49.5, 51.5, 49.5 at y = 5.5, 21.5, 37.5: vertical line at x = 151.5/3, residuals 2/3, 4/3, 2/3.
            Assert.Equal(0, v.LineSlope!.Value, 9);
            Assert.Equal((2.0 / 3 + 4.0 / 3 + 2.0 / 3) / 3, v.Value!.Value, 9);
            Assert.Equal("px", v.Unit);
        }

        [Fact]
        public void AbsentClassGivesMissingStatusNotANumber()
        {
            var ex = new FeatureExtractor(Build());
            foreach (var kind in new[] { FeatureKind.Area, FeatureKind.Perimeter, FeatureKind.Centroid, FeatureKind.BoundingBox, FeatureKind.Compactness, FeatureKind.Convexity })
            {
                var v = ex.Shape(kind, "left lung");
                Assert.Equal(FeatureStatus.Missing, v.Status);
                Assert.Null(v.Value);
                Assert.Null(v.X);
            }
            var empty = Result(Set(50, 40, 100, 80, Labels, new Dictionary<string, Func<int, int, bool>>()));
            var ctr = new FeatureExtractor(empty).Compute(FeatureKind.CTR).Single();
            Assert.Equal(FeatureStatus.Missing, ctr.Status);
            Assert.Null(ctr.Value);
            Assert.Null(ctr.HeartWidth);
        }

        [Fact]
        public void UnknownLabelOrMissingLabelIsAnError()
        {
            var ex = new FeatureExtractor(Build());
            Assert.Throws<CxasException>(() => ex.Shape(FeatureKind.Area, "tail"));
            Assert.Throws<CxasException>(() => ex.Compute(FeatureKind.Area).ToList());
        }

        [Theory]
        [InlineData("CTR", FeatureKind.CTR)]
        [InlineData("Cardio-Thoracic Ratio", FeatureKind.CTR)]
        [InlineData("spine-center distance", FeatureKind.SCD)]
        [InlineData("boundingbox", FeatureKind.BoundingBox)]
        public void FeatureNamesAcceptTheReferenceSpellings(string name, FeatureKind kind)
        {
            Assert.Equal(kind, FeatureNames.Parse(name));
        }

        [Fact]
        public void UnknownFeatureNameIsAnError()
        {
            Assert.False(FeatureNames.TryParse("Volume", out _));
            Assert.Throws<CxasException>(() => FeatureNames.Parse("Volume"));
        }
    }
}
