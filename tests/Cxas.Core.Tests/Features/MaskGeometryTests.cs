using Cxas.Features;
using static Cxas.Core.Tests.Features.Synthetic;

namespace Cxas.Core.Tests.Features
{
    /// <summary>Perimeters, hulls, enclosed areas, row extents, centroids and boxes of synthetic masks against hand-computed values.</summary>
    public class MaskGeometryTests
    {
        private static readonly double Half = Math.Sqrt(0.5); // one corner-cutting segment of the contour

        [Theory]
        [InlineData(10, 6)]
        [InlineData(1, 1)]
        [InlineData(1, 7)]
        [InlineData(64, 3)]
        [InlineData(65, 2)]
        public void RectanglePerimeterCutsFourCorners(int w, int h)
        {
            var mask = Mask(130, 20, Rect(3, 4, w, h));
            // Straight runs between the centres of the first and last pixel of each side, plus four corner cuts.
            double expected = 2 * (w - 1) + 2 * (h - 1) + 4 * Half;
            Assert.Equal(expected, MaskGeometry.Perimeter(mask, PixelSpacing.Pixels), 9);
            // The contour encloses the rectangle less four corner triangles of 1/8 pixel; it is its own hull.
            Assert.Equal(w * h - 0.5, MaskGeometry.ContourArea(mask, PixelSpacing.Pixels), 9);
            Assert.Equal(w * h - 0.5, MaskGeometry.PolygonArea(MaskGeometry.ContourHull(mask, PixelSpacing.Pixels)), 9);
        }

        [Fact]
        public void RectanglePerimeterUsesAnisotropicSpacing()
        {
            var mask = Mask(40, 30, Rect(5, 3, 10, 6));
            var s = PixelSpacing.Millimetres(0.5, 2.0);
            double corner = Math.Sqrt(0.5 * 0.5 + 2.0 * 2.0) / 2;
            double expected = 2 * 9 * 0.5 + 2 * 5 * 2.0 + 4 * corner;
            Assert.Equal(expected, MaskGeometry.Perimeter(mask, s), 9);
        }

        [Fact]
        public void RectangleTouchingTheImageBorderIsClosed()
        {
            var mask = Mask(8, 5, (x, y) => true);
            Assert.Equal(2 * 7 + 2 * 4 + 4 * Half, MaskGeometry.Perimeter(mask, PixelSpacing.Pixels), 9);
        }

        [Fact]
        public void HoleAddsItsOwnContour()
        {
            var outer = Rect(2, 2, 12, 10);
            var hole = Rect(5, 5, 3, 2);
            var mask = Mask(20, 20, (x, y) => outer(x, y) && !hole(x, y));
            // The hole's contour runs around the missing 3x2 block: the same cell patterns as a 3x2 rectangle.
            double expected = (2 * 11 + 2 * 9 + 4 * Half) + (2 * 2 + 2 * 1 + 4 * Half);
            Assert.Equal(expected, MaskGeometry.Perimeter(mask, PixelSpacing.Pixels), 9);
        }

        [Fact]
        public void TwoComponentsTouchingDiagonallyCountBothCuts()
        {
            // Two single pixels meeting at a corner: each alone is 4 cuts; the shared cell is a saddle with two cuts.
            var mask = Mask(6, 6, (x, y) => (x == 2 && y == 2) || (x == 3 && y == 3));
            Assert.Equal(8 * Half, MaskGeometry.Perimeter(mask, PixelSpacing.Pixels), 9);
        }

        [Theory]
        [InlineData(1)]
        [InlineData(5)]
        [InlineData(20)]
        public void DiamondIsASquareRotatedBy45Degrees(int r)
        {
            int c = 30;
            var mask = Mask(61, 61, (x, y) => Math.Abs(x - c) + Math.Abs(y - c) <= r);
            Assert.Equal(2L * r * r + 2 * r + 1, mask.Count());
            // The contour is the square with vertices at (c +- (r + 0.5), c) and (c, c +- (r + 0.5)).
            Assert.Equal(4 * Math.Sqrt(2) * (r + 0.5), MaskGeometry.Perimeter(mask, PixelSpacing.Pixels), 9);
            var hull = MaskGeometry.ContourHull(mask, PixelSpacing.Pixels);
            Assert.Equal(4, hull.Count);
            Assert.Equal(4 * Math.Sqrt(2) * (r + 0.5), MaskGeometry.PolygonPerimeter(hull), 9);
            Assert.Equal(2 * (r + 0.5) * (r + 0.5), MaskGeometry.PolygonArea(hull), 9);
            Assert.Equal(2 * (r + 0.5) * (r + 0.5), MaskGeometry.ContourArea(mask, PixelSpacing.Pixels), 9);
        }

        [Fact]
        public void DiscPerimeterIsCloseToTheCircle()
        {
            const double R = 50;
            var mask = Mask(121, 121, (x, y) => (x - 60) * (x - 60) + (y - 60) * (y - 60) <= R * R);
            Assert.InRange(mask.Count(), Math.PI * R * R * 0.99, Math.PI * R * R * 1.01);
            // Segments of length 1 and sqrt(1/2) follow a digital line at slope m (0..1) with length (1 - m) + m*sqrt(2)
            // per column against sqrt(1 + m^2): never shorter, at most 8.3 % longer (m = tan 22.5 degrees).
            double p = MaskGeometry.Perimeter(mask, PixelSpacing.Pixels);
            Assert.InRange(p, 2 * Math.PI * R * 0.99, 2 * Math.PI * R * 1.083);
            // Enclosed and hull areas both approach the circle's: the digital disc is nearly convex.
            double inside = MaskGeometry.ContourArea(mask, PixelSpacing.Pixels);
            double hull = MaskGeometry.PolygonArea(MaskGeometry.ContourHull(mask, PixelSpacing.Pixels));
            Assert.InRange(inside, Math.PI * R * R * 0.99, Math.PI * R * R * 1.01);
            Assert.InRange(inside / hull, 0.985, 1.0);
        }

        [Fact]
        public void RotatedRectangleFollowsTheDigitalLineLength()
        {
            // A 60 x 30 rectangle rotated by 30 degrees about (100, 100).
            double a = 60, b = 30, t = Math.PI / 6, cos = Math.Cos(t), sin = Math.Sin(t);
            var mask = Mask(200, 200, (x, y) =>
            {
                double dx = x - 100, dy = y - 100;
                double u = dx * cos + dy * sin, v = -dx * sin + dy * cos;
                return Math.Abs(u) <= a / 2 && Math.Abs(v) <= b / 2;
            });
            Assert.InRange(mask.Count(), a * b * 0.97, a * b * 1.03);
            // Both side directions are 30 degrees from an axis: m = tan 30 for every side.
            double m = Math.Tan(t);
            double factor = ((1 - m) + m * Math.Sqrt(2)) / Math.Sqrt(1 + m * m);
            double expected = 2 * (a + b) * factor;
            Assert.InRange(MaskGeometry.Perimeter(mask, PixelSpacing.Pixels), expected * 0.97, expected * 1.03);
            double hull = MaskGeometry.PolygonPerimeter(MaskGeometry.ContourHull(mask, PixelSpacing.Pixels));
            Assert.InRange(hull, 2 * (a + b) * 0.98, 2 * (a + b) * 1.03);
            // A digitised convex shape: its staircase edges leave slivers between contour and hull, on average less
            // than half a pixel wide, so convexity >= 1 - 0.5 * P / A = 1 - 0.5 * 180 / 1800 = 0.95.
            double inside = MaskGeometry.ContourArea(mask, PixelSpacing.Pixels);
            Assert.InRange(inside / MaskGeometry.PolygonArea(MaskGeometry.ContourHull(mask, PixelSpacing.Pixels)), 0.95, 1.0);
        }

        [Fact]
        public void LShapeHullBridgesTheNotch()
        {
            // Arm A: columns 0..19, rows 0..3; arm B: columns 0..3, rows 0..19 (placed at offset 5, 5).
            var mask = Mask(40, 40, Union(Rect(5, 5, 20, 4), Rect(5, 5, 4, 20)));
            Assert.Equal(144, mask.Count());
            double contour = 19 + 3 + 15 + 15 + 3 + 19 + 6 * Half;
            Assert.Equal(contour, MaskGeometry.Perimeter(mask, PixelSpacing.Pixels), 9);
            // The hull replaces the notch (15 + cut + 15) with one diagonal from (19, 3.5) to (3.5, 19).
            double hull = 19 + 3 + 3 + 19 + 5 * Half + 15.5 * Math.Sqrt(2);
            Assert.Equal(hull, MaskGeometry.PolygonPerimeter(MaskGeometry.ContourHull(mask, PixelSpacing.Pixels)), 9);
            // Enclosed area: 144 pixels, five convex corners cut (1/8 each), one concave corner filled (1/8).
            Assert.Equal(144 - 5 / 8.0 + 1 / 8.0, MaskGeometry.ContourArea(mask, PixelSpacing.Pixels), 9);
            // Hull area: the 20 x 20 box of the contour, less three corner cuts of 1/8 and the triangle beyond the
            // line x + y = 22.5 (legs of 16.5).
            Assert.Equal(400 - 3 / 8.0 - 16.5 * 16.5 / 2, MaskGeometry.PolygonArea(MaskGeometry.ContourHull(mask, PixelSpacing.Pixels)), 9);
        }

        [Fact]
        public void DiagonalNeighboursStaySeparateInTheEnclosedArea()
        {
            // Two pixels touching at a corner: two contours of 1 - 1/2 each (the saddle cell keeps two 1/8 triangles).
            var mask = Mask(6, 6, (x, y) => (x == 2 && y == 2) || (x == 3 && y == 3));
            Assert.Equal(1.0, MaskGeometry.ContourArea(mask, PixelSpacing.Pixels), 9);
        }

        [Fact]
        public void HoleIsSubtractedFromTheEnclosedArea()
        {
            var outer = Rect(2, 2, 12, 10);
            var hole = Rect(5, 5, 3, 2);
            var mask = Mask(20, 20, (x, y) => outer(x, y) && !hole(x, y));
            // Outer contour encloses 120 - 0.5; the hole's contour encloses 6 - 0.5 of background.
            Assert.Equal((120 - 0.5) - (6 - 0.5), MaskGeometry.ContourArea(mask, PixelSpacing.Pixels), 9);
            Assert.Equal(120 - 0.5, MaskGeometry.PolygonArea(MaskGeometry.ContourHull(mask, PixelSpacing.Pixels)), 9);
        }

        [Fact]
        public void EmptyMaskHasNoGeometry()
        {
            var mask = Mask(10, 10, (x, y) => false);
            Assert.Equal(0, MaskGeometry.Perimeter(mask, PixelSpacing.Pixels));
            Assert.Null(MaskGeometry.Centroid(mask));
            Assert.Null(MaskGeometry.BoundingBox(mask));
            Assert.Empty(MaskGeometry.RowExtents(mask));
            Assert.Empty(MaskGeometry.ContourHull(mask, PixelSpacing.Pixels));
        }

        [Fact]
        public void RowExtentsAcrossWordBoundaries()
        {
            var mask = Mask(200, 3, (x, y) => y == 1 && (x == 63 || x == 64 || x == 150));
            var rows = MaskGeometry.RowExtents(mask);
            Assert.Single(rows);
            Assert.Equal((1, 63, 150), (rows[0].Y, rows[0].Left, rows[0].Right));
            Assert.Equal(88, rows[0].Span);
        }

        [Fact]
        public void CentroidAndBoxOfAnAsymmetricShape()
        {
            // Rectangle 10x6 at (5,3) plus a single pixel at (30, 20).
            var mask = Mask(40, 30, Union(Rect(5, 3, 10, 6), (x, y) => x == 30 && y == 20));
            var c = MaskGeometry.Centroid(mask)!.Value;
            Assert.Equal(61, c.Count);
            Assert.Equal((60 * 9.5 + 30) / 61, c.X, 9);
            Assert.Equal((60 * 5.5 + 20) / 61, c.Y, 9);
            Assert.Equal((5, 3, 26, 18), MaskGeometry.BoundingBox(mask)!.Value);
        }
    }
}
