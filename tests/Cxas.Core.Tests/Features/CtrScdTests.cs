using Cxas.Features;
using static Cxas.Core.Tests.Features.Synthetic;

namespace Cxas.Core.Tests.Features
{
    public class CtrScdTests
    {
        // 100 x 80 image. Lungs: columns 10..39 and 60..89, rows 10..59 (the thorax is 80 columns wide on every row).
        // Heart: columns 35..64 on rows 40..59, plus a bulge to column 74 on rows 50..55.
        // Right hemidiaphragm: columns 10..45, rows 60..63 (its medial end is column 45).
        private static readonly Func<int, int, bool> LungShape = Union(Rect(10, 10, 30, 50), Rect(60, 10, 30, 50));
        private static readonly Func<int, int, bool> HeartShape = Union(Rect(35, 40, 30, 20), Rect(65, 50, 10, 6));

        private static BinaryMask Lung => Mask(100, 80, LungShape);
        private static BinaryMask Heart => Mask(100, 80, HeartShape);

        [Fact]
        public void StandardCtrIsHeartExtentOverWidestThoracicRow()
        {
            var r = CardiothoracicRatio.Standard(Heart, Lung, PixelSpacing.Pixels);
            Assert.True(r.IsOk);
            Assert.Equal(40, r.HeartWidth, 9);      // columns 35..74
            Assert.Equal(80, r.ThoracicWidth, 9);   // columns 10..89
            Assert.Equal(0.5, r.Ratio!.Value, 9);
            // Midline: the centre of the thoracic row, edge coordinate (10 + 90) / 2 = 50.
            Assert.Equal(49.5, r.MidlineX, 9);
            Assert.Equal(15, r.RightExtent, 9);
            Assert.Equal(25, r.LeftExtent, 9);
            Assert.Equal((35, 40), (r.HeartRightX, r.HeartRightY));
            Assert.Equal((74, 50), (r.HeartLeftX, r.HeartLeftY));
            Assert.Equal((10, 89, 10), (r.ThoraxRightX, r.ThoraxLeftX, r.ThoraxY));
        }

        [Fact]
        public void StandardCtrPicksTheWidestLungRow()
        {
            // Lungs widen at rows 30..31 (columns 5..94).
            var lung = Mask(100, 80, Union(LungShape, Rect(5, 30, 90, 2)));
            var r = CardiothoracicRatio.Standard(Heart, lung, PixelSpacing.Millimetres(0.2, 0.3));
            Assert.Equal(30, r.ThoraxY);
            Assert.Equal(90 * 0.2, r.ThoracicWidth, 9);
            Assert.Equal(40 * 0.2, r.HeartWidth, 9);
            Assert.Equal(40.0 / 90.0, r.Ratio!.Value, 9);
        }

        [Fact]
        public void ReferenceCtrMeasuresFromTheHemidiaphragmMidline()
        {
            var hemi = Mask(100, 80, Rect(10, 60, 36, 4));
            var r = CardiothoracicRatio.Reference(Heart, Lung, hemi, PixelSpacing.Millimetres(0.5, 0.5));
            Assert.True(r.IsOk);
            Assert.Equal(45, r.MidlineX);
            Assert.Equal(10 * 0.5, r.RightExtent, 9);   // 45 - 35
            Assert.Equal(29 * 0.5, r.LeftExtent, 9);    // 74 - 45
            Assert.Equal(79 * 0.5, r.ThoracicWidth, 9); // 89 - 10
            Assert.Equal(39.0 / 79.0, r.Ratio!.Value, 9);
        }

        [Fact]
        public void ReferenceCtrClampsAnExtentThatCrossesTheMidline()
        {
            var hemi = Mask(100, 80, Rect(10, 60, 21, 4)); // medial end at column 30, left of the whole heart
            var r = CardiothoracicRatio.Reference(Heart, Lung, hemi, PixelSpacing.Pixels);
            Assert.Equal(0, r.RightExtent);
            Assert.Equal(44, r.LeftExtent);
            Assert.Equal(44.0 / 79.0, r.Ratio!.Value, 9);
        }

        [Fact]
        public void MissingStructuresGiveAStatusAndNoValue()
        {
            var empty = Mask(100, 80, (x, y) => false);
            var s = CardiothoracicRatio.Standard(empty, Lung, PixelSpacing.Pixels);
            Assert.Equal(FeatureStatus.Missing, s.Status);
            Assert.Null(s.Ratio);
            Assert.Contains("heart", s.Message);
            var r = CardiothoracicRatio.Reference(Heart, Lung, null, PixelSpacing.Pixels);
            Assert.Equal(FeatureStatus.Missing, r.Status);
            Assert.Null(r.Ratio);
            Assert.Contains("right hemidiaphragm", r.Message);
        }

        [Fact]
        public void ReferenceCtrWithAOneColumnLungIsDegenerate()
        {
            var lung = Mask(100, 80, Rect(50, 10, 1, 40));
            var hemi = Mask(100, 80, Rect(10, 60, 36, 4));
            var r = CardiothoracicRatio.Reference(Heart, lung, hemi, PixelSpacing.Pixels);
            Assert.Equal(FeatureStatus.Degenerate, r.Status);
            Assert.Null(r.Ratio);
        }

        private static (string, BinaryMask) Block(string name, int cx, int cy) =>
            (name, Mask(100, 80, Rect(cx - 2, cy - 2, 5, 5)));

        [Fact]
        public void ScdOfCollinearCentresIsZero()
        {
            // Centres on x = 50 + 0.5 y.
            var r = SpineCenterDistance.Compute(new[] { Block("a", 55, 10), Block("b", 60, 20), Block("c", 65, 30), Block("d", 75, 50) },
                PixelSpacing.Pixels);
            Assert.True(r.IsOk);
            Assert.Equal(0, r.Value!.Value, 9);
            Assert.Equal(0.5, r.Slope!.Value, 9);
            Assert.Equal(50, r.Intercept!.Value, 9);
            Assert.Equal(4, r.Centers.Count);
        }

        [Fact]
        public void ScdIsMeanPerpendicularDistanceToTheFittedLine()
        {
            // Centres (20,10), (32,30), (40,50): y mean 30, x mean 92/3; slope 400/800; residuals -2/3, 4/3, -2/3.
            var r = SpineCenterDistance.Compute(new[] { Block("a", 20, 10), Block("b", 32, 30), Block("c", 40, 50) }, PixelSpacing.Pixels);
            Assert.Equal(0.5, r.Slope!.Value, 9);
            Assert.Equal(92.0 / 3 - 15, r.Intercept!.Value, 9);
            double norm = Math.Sqrt(1.25);
            Assert.Equal((2.0 / 3 + 4.0 / 3 + 2.0 / 3) / 3 / norm, r.Value!.Value, 9);
            Assert.Equal(4.0 / 3 / norm, r.MaxDistance!.Value, 9);
        }

        [Fact]
        public void ScdUsesPhysicalCoordinates()
        {
            // Centres (50,10), (54,30), (50,50) with 0.5 mm columns: x = 25, 27, 25 mm; the line is vertical at 77/3 mm.
            var r = SpineCenterDistance.Compute(new[] { Block("a", 50, 10), Block("b", 54, 30), Block("c", 50, 50) },
                PixelSpacing.Millimetres(0.5, 1.0));
            Assert.Equal(0, r.Slope!.Value, 9);
            Assert.Equal(77.0 / 3, r.Intercept!.Value, 9);
            Assert.Equal((2.0 / 3 + 4.0 / 3 + 2.0 / 3) / 3, r.Value!.Value, 9);
            Assert.Equal(77.0 / 3 / 0.5, r.LineXAt(17, PixelSpacing.Millimetres(0.5, 1.0)), 9);
        }

        [Fact]
        public void ScdNeedsThreeVertebrae()
        {
            var empty = Mask(100, 80, (x, y) => false);
            var two = SpineCenterDistance.Compute(new[] { Block("a", 20, 10), Block("b", 32, 30), ("c", empty) }, PixelSpacing.Pixels);
            Assert.Equal(FeatureStatus.TooFew, two.Status);
            Assert.Null(two.Value);
            Assert.Equal(new[] { "a", "b" }, two.Names);
            var none = SpineCenterDistance.Compute(new[] { ("c", empty) }, PixelSpacing.Pixels);
            Assert.Equal(FeatureStatus.Missing, none.Status);
        }
    }
}
