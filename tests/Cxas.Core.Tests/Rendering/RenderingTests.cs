using Cxas.Features;
using Cxas.Rendering;
using static Cxas.Core.Tests.Features.Synthetic;

namespace Cxas.Core.Tests.Rendering
{
    /// <summary>Overlays on synthetic images, pixel by pixel: blending, fills and outlines, downscaling, lines, text, constructions, colours and PNG output.</summary>
    public class RenderingTests
    {
        private static Rgb24Raster Grey(int w, int h, byte v)
        {
            var px = new byte[w * h * 3];
            for (int i = 0; i < px.Length; i++) px[i] = v;
            return new Rgb24Raster(w, h, px);
        }

        private static byte Mix(byte over, byte under, double alpha) => (byte)Math.Round(over * alpha + under * (1 - alpha), MidpointRounding.AwayFromZero);

        [Fact]
        public void BlendingFollowsSourceOver()
        {
            var canvas = new RgbaCanvas(3, 1);
            canvas.FillRect(0, 0, 3, 1, new Rgba(0, 0, 0));
            canvas.Blend(0, 0, new Rgba(200, 100, 50, 255));
            canvas.Blend(1, 0, new Rgba(200, 100, 50, 51)); // alpha 0.2 over opaque black
            Assert.Equal(new Rgba(200, 100, 50, 255), canvas[0, 0]);
            Assert.Equal(new Rgba(40, 20, 10, 255), canvas[1, 0]);
            Assert.Equal(new Rgba(0, 0, 0, 255), canvas[2, 0]);

            var clear = new RgbaCanvas(1, 1);
            clear.Blend(0, 0, new Rgba(200, 100, 50, 51));
            Assert.Equal(new Rgba(200, 100, 50, 51), clear[0, 0]); // over transparent: colour kept, alpha as given
        }

        [Fact]
        public void ClassFillOutlineAndBackground()
        {
            var set = Set(40, 30, 40, 30, Labels, new Dictionary<string, Func<int, int, bool>> { ["heart"] = Rect(10, 10, 20, 10) });
            var red = new Rgba(255, 0, 0);
            var canvas = OverlayRenderer.Render(Grey(40, 30, 100), set, new OverlayOptions
            {
                Labels = new[] { "heart" },
                FillOpacity = 0.4,
                OutlineWidth = 2,
                Legend = false,
                Colors = new Dictionary<string, Rgba> { ["heart"] = red },
            });
            Assert.Equal(new Rgba(100, 100, 100, 255), canvas[5, 5]);                    // outside
            Assert.Equal(red, canvas[10, 15]);                                          // on the outline (first column)
            Assert.Equal(red, canvas[11, 15]);                                          // outline is 2 pixels wide
            Assert.Equal(new Rgba(Mix(255, 100, 0.4), Mix(0, 100, 0.4), Mix(0, 100, 0.4), 255), canvas[12, 15]); // fill
            Assert.Equal(new Rgba(100, 100, 100, 255), canvas[30, 15]);                 // just right of the class
        }

        [Fact]
        public void DownscaledOverlayMapsClassesToTheSmallerGrid()
        {
            var set = Set(100, 80, 100, 80, Labels, new Dictionary<string, Func<int, int, bool>> { ["lung"] = Rect(50, 0, 50, 80) });
            var canvas = OverlayRenderer.Render(Grey(100, 80, 0), set, new OverlayOptions
            {
                Labels = new[] { "lung" }, MaxSize = 50, Legend = false, FillOpacity = 1, OutlineWidth = 1,
                Colors = new Dictionary<string, Rgba> { ["lung"] = new Rgba(0, 0, 255) },
            });
            Assert.Equal((50, 40), (canvas.Width, canvas.Height));
            Assert.Equal(new Rgba(0, 0, 255), canvas[30, 20]);
            Assert.Equal(new Rgba(0, 0, 0), canvas[20, 20]);
        }

        [Fact]
        public void ThickLineCoversItsWidthOnly()
        {
            var canvas = new RgbaCanvas(40, 20);
            var c = new Rgba(10, 200, 30);
            canvas.Line(5, 10, 35, 10, 4, c); // covers rows 8 and 9 and 10 and 11 fully (centres 8.5 .. 11.5 within 2 of y = 10)
            Assert.Equal(c, canvas[20, 8]);
            Assert.Equal(c, canvas[20, 11]);
            Assert.Equal(0, canvas[20, 5].A);
            Assert.Equal(0, canvas[20, 14].A);
            Assert.Equal(0, canvas[39, 10].A); // beyond the round cap
        }

        [Fact]
        public void TextDrawsTheGlyphCells()
        {
            var canvas = new RgbaCanvas(20, 20);
            var white = new Rgba(255, 255, 255);
            canvas.Text(2, 3, "T", 2, white);
            // 'T': top row all five cells, then the middle column. At scale 2 each cell is 2x2 pixels.
            for (int k = 0; k < 5; k++) Assert.Equal(white, canvas[2 + 2 * k + 1, 3 + 1]);
            Assert.Equal(white, canvas[2 + 4, 3 + 2 * 6]);
            Assert.Equal(0, canvas[2, 3 + 2 * 6].A);
            Assert.Equal(11, BitmapFont.MeasureWidth("ab", 1));
            Assert.Equal(BitmapFont.Glyph('a'), BitmapFont.Glyph('A'));
            Assert.Equal(BitmapFont.Glyph('?'), BitmapFont.Glyph('~'));
        }

        [Fact]
        public void CtrConstructionIsDrawnAtItsRows()
        {
            var lung = Mask(100, 80, Union(Rect(10, 10, 30, 50), Rect(60, 10, 30, 50)));
            var heart = Mask(100, 80, Union(Rect(35, 40, 30, 20), Rect(65, 50, 10, 6)));
            var ctr = CardiothoracicRatio.Standard(heart, lung, PixelSpacing.Pixels);
            var canvas = new RgbaCanvas(100, 80);
            OverlayRenderer.DrawFeatures(canvas, 100, 80, new OverlayOptions { Ctr = new[] { ctr } });
            // Thoracic diameter along row 10 from x = 10 to 90 (edges); a 1.5 px line centred on y = 10.5.
            Assert.Equal(Palette.Thorax, canvas[25, 10]);
            Assert.Equal(0, canvas[25, 14].A);
            // The right heart extent runs along row 40 from the heart's edge (x = 35) to the midline (x = 50).
            Assert.Equal(Palette.HeartExtent, canvas[42, 40]);
            Assert.Equal(0, canvas[42, 44].A);
        }

        [Fact]
        public void OverlayPngDecodesWithTheDrawnColours()
        {
            var set = Set(120, 80, 120, 80, Labels, new Dictionary<string, Func<int, int, bool>> { ["heart"] = Rect(60, 30, 30, 40) });
            var canvas = OverlayRenderer.Render(Grey(120, 80, 50), set, new OverlayOptions
            {
                Labels = new[] { "heart" }, Legend = true, FillOpacity = 0.5, OutlineWidth = 1,
                Colors = new Dictionary<string, Rgba> { ["heart"] = new Rgba(0, 255, 0) },
            });
            using var image = Image.Load<Rgba32>(canvas.ToPng());
            Assert.Equal((120, 80), (image.Width, image.Height));
            Assert.Equal(new Rgba32(0, 255, 0, 255), image[60, 50]);
            Assert.Equal(new Rgba32(Mix(0, 50, 0.5), Mix(255, 50, 0.5), Mix(0, 50, 0.5), 255), image[75, 50]);
            Assert.Equal(new Rgba32(50, 50, 50, 255), image[100, 50]);
            // The legend box (black at alpha 180 over grey 50) starts at (4, 4), its swatch at (8, 8).
            Assert.Equal(new Rgba32(0, 255, 0, 255), image[9, 9]);
            Assert.Equal(new Rgba32(Mix(0, 50, 180 / 255.0), Mix(0, 50, 180 / 255.0), Mix(0, 50, 180 / 255.0), 255), image[5, 5]);
        }

        [Fact]
        public void UnknownOverlayLabelIsAnError()
        {
            var set = Set(10, 10, 10, 10, Labels, new Dictionary<string, Func<int, int, bool>>());
            Assert.Throws<CxasException>(() => OverlayRenderer.Render(null, set, new OverlayOptions { Labels = new[] { "tail" } }));
        }

        [Fact]
        public void ColoursParseAndFormat()
        {
            Assert.Equal(new Rgba(255, 128, 0), Rgba.Parse("#ff8000"));
            Assert.Equal(new Rgba(1, 2, 3, 4), Rgba.Parse("01020304"));
            Assert.Equal("#FF8000", new Rgba(255, 128, 0).ToHex());
            Assert.Throws<CxasException>(() => Rgba.Parse("#12345"));
            Assert.Equal(new Rgba(255, 0, 0), Rgba.FromHue(0, 1, 1));
            Assert.Equal(new Rgba(0, 255, 0), Rgba.FromHue(1.0 / 3, 1, 1));
        }

        [Fact]
        public void OpaqueCanvasIsWrittenWithoutAlpha()
        {
            var canvas = new RgbaCanvas(4, 3);
            Assert.False(canvas.IsOpaque());
            Assert.Equal(32, Image.Identify(canvas.ToPng()).PixelType.BitsPerPixel);
            canvas.FillRect(0, 0, 4, 3, new Rgba(9, 8, 7));
            Assert.True(canvas.IsOpaque());
            Assert.Equal(24, Image.Identify(canvas.ToPng()).PixelType.BitsPerPixel);
            using var opaque = Image.Load<Rgba32>(canvas.ToPng());
            Assert.Equal(new Rgba32(9, 8, 7, 255), opaque[3, 2]);
        }
    }
}
