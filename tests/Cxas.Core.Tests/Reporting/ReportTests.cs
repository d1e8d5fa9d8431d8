using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cxas.Features;
using Cxas.Rendering;
using Cxas.Reporting;
using static Cxas.Core.Tests.Features.Synthetic;

namespace Cxas.Core.Tests.Reporting
{
    /// <summary>
    /// Report tests on two synthetic 240 x 200 images. Setting CXAS_REPORT_FIXTURE to a file path also leaves the report
    /// there, with the expected pixels beside it (path + ".expect.json"), for the headless-browser test in tests/browser.
    /// </summary>
    public class ReportTests
    {
        private const byte Grey = 80;
        private const double Opacity = 0.4;
        private static readonly Rgba Red = new Rgba(255, 0, 0), Blue = new Rgba(0, 0, 255);

        private static Rgb24Raster GreyImage(int w, int h)
        {
            var px = new byte[w * h * 3];
            for (int i = 0; i < px.Length; i++) px[i] = Grey;
            return new Rgb24Raster(w, h, px);
        }

        private static Cxas.Segmentation.SegmentationResult Image(string name, Func<int, int, bool> heart)
        {
            var grid = new Dictionary<string, Func<int, int, bool>>
            {
                ["lung"] = Union(Rect(30, 30, 70, 130), Rect(140, 30, 70, 130)),    // thorax columns 30..209
                ["heart"] = heart,
                ["right hemidiaphragm"] = Rect(30, 160, 85, 6),
                ["vertebrae T1"] = Rect(116, 16, 9, 9),
                ["vertebrae T2"] = Rect(119, 46, 9, 9),
                ["vertebrae T3"] = Rect(116, 76, 9, 9),
                ["vertebrae T4"] = Rect(118, 106, 9, 9),
            };
            return Result(Set(240, 200, 240, 200, Labels, grid), "/data/" + name);
        }

        private static List<ReportItem> Items()
        {
            var options = new ReportOptions
            {
                Labels = new[] { "heart", "lung", "left lung" },
                FillOpacity = Opacity,
                JpegQuality = 95,
                Colors = new Dictionary<string, Rgba>(StringComparer.OrdinalIgnoreCase) { ["heart"] = Red, ["lung"] = Blue },
            };
            // b.png first: its heart is wider, so sorting by CTR ascending changes the order.
            var b = Image("b.png", Rect(70, 100, 110, 60));   // heart columns 70..179: CTR 110 / 180
            var a = Image("a<&>.png", Rect(90, 100, 70, 60)); // heart columns 90..159: CTR 70 / 180
            return new List<ReportItem>
            {
                ReportItems.Create(b, GreyImage(240, 200), options),
                ReportItems.Create(a, GreyImage(240, 200), options),
            };
        }

        private static int Mix(byte over) => (int)Math.Round(over * Opacity + Grey * (1 - Opacity), MidpointRounding.AwayFromZero);

        [Fact]
        public void ItemsCarryFeaturesAndLayers()
        {
            var items = Items();
            var ctr = items[0].Features.Single(f => f.Feature == "CTR");
            Assert.Equal(110.0 / 180.0, ctr.Value!.Value, 9);
            Assert.Equal(70.0 / 180.0, items[1].Features.Single(f => f.Feature == "CTR").Value!.Value, 9);
            var scd = items[0].Features.Single(f => f.Feature == "SCD");
            Assert.Equal(4, scd.VertebraCount);
            Assert.Equal(3, items[0].Layers.Count);
            Assert.False(items[0].Layers[2].Present); // "left lung" is absent
            Assert.Equal(new[] { "CTR construction (standard)", "SCD construction" }, items[0].ConstructionLayers.Select(l => l.Name));
            // The CTR layer holds the thoracic diameter along the widest lung row (row 30, columns 30..209), the SCD
            // layer does not.
            using (var ctrLayer = SixLabors.ImageSharp.Image.Load<Rgba32>(items[0].ConstructionLayers[0].Png))
            using (var scdLayer = SixLabors.ImageSharp.Image.Load<Rgba32>(items[0].ConstructionLayers[1].Png))
            {
                Assert.Equal(new Rgba32(Palette.Thorax.R, Palette.Thorax.G, Palette.Thorax.B, 255), ctrLayer[60, 30]);
                Assert.Equal(0, scdLayer[60, 30].A);
            }

            using var heart = SixLabors.ImageSharp.Image.Load<Rgba32>(items[0].Layers[0].Png);
            Assert.Equal(new Rgba32(255, 0, 0, (byte)Math.Round(Opacity * 255)), heart[120, 130]); // inside the heart
            Assert.Equal(new Rgba32(255, 0, 0, 255), heart[70, 130]);                              // its outline
            Assert.Equal(0, heart[20, 20].A);                                                      // outside
            using var baseImage = SixLabors.ImageSharp.Image.Load<Rgb24>(items[0].BaseJpeg!);
            Assert.InRange(baseImage[5, 5].R, Grey - 2, Grey + 2);
        }

        [Fact]
        public void HtmlIsSelfContainedAndEscaped()
        {
            var html = Render(Items());
            var sources = Regex.Matches(html, "\\ssrc=\"([^\"]*)\"").Cast<Match>().Select(m => m.Groups[1].Value).ToList();
            Assert.Equal(2 * (1 + 3 + 2), sources.Count); // per image: base, three classes, CTR and SCD constructions
            Assert.All(sources, s => Assert.StartsWith("data:image/", s));
            Assert.DoesNotContain("<link", html);
            Assert.DoesNotContain("http://", html);
            Assert.DoesNotContain("https://", html);
            Assert.Contains("a&lt;&amp;&gt;.png", html);
            Assert.DoesNotContain("a<&>.png", html);
            // Summary: one row per image, with the ratio shown to three decimals.
            Assert.Equal(2, Regex.Matches(html, "<tr id=\"row-").Count);
            Assert.Contains(">0.611<", html);
            Assert.Contains(">0.389<", html);
            Assert.Single(Regex.Matches(html, "<td [^>]*class=\"flag\"[^>]*>0.611<").Cast<Match>()); // only the CTR above 0.5
            Assert.Contains("left lung <em>(not found)</em>", html);
        }

        [Fact]
        public void MissingStructuresShowTheirStatus()
        {
            var empty = Result(Set(50, 40, 50, 40, Labels, new Dictionary<string, Func<int, int, bool>>()), "/data/empty.png");
            var item = ReportItems.Create(empty, null, new ReportOptions { Labels = new[] { "heart" } });
            var html = Render(new List<ReportItem> { item });
            Assert.Contains("class=\"status\"", html);
            Assert.Contains(">Missing<", html);
            Assert.Null(item.Features[0].Value);
        }

        private static string Render(List<ReportItem> items)
        {
            var sb = new StringBuilder();
            using (var w = new StringWriter(sb)) HtmlReport.Write(w, items, "Test report", new DateTime(2026, 1, 2, 3, 4, 0, DateTimeKind.Utc));
            return sb.ToString();
        }

        [Fact]
        public void WritesTheBrowserFixture()
        {
            string? target = Environment.GetEnvironmentVariable("CXAS_REPORT_FIXTURE");
            string path = string.IsNullOrEmpty(target) ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cxas-report-" + Guid.NewGuid().ToString("N") + ".html") : target!;
            var items = Items();
            using (var stream = File.Create(path)) HtmlReport.Write(stream, items, "Cxas browser fixture");
            // Expected screen colours, from the definitions: grey 80 under a 40 % fill of pure red or blue.
            var expect = new
            {
                images = new[]
                {
                    new { id = "img-0", fileName = "b.png", width = 240, height = 200, checks = new object[]
                    {
                        new { x = 120, y = 130, layer = 0, on = new[] { Mix(255), Mix(0), Mix(0) }, off = new int[] { Grey, Grey, Grey } },
                        new { x = 50, y = 60, layer = 1, on = new[] { Mix(0), Mix(0), Mix(255) }, off = new int[] { Grey, Grey, Grey } },
                        new { x = 225, y = 190, layer = -1, on = new int[] { Grey, Grey, Grey }, off = new int[] { Grey, Grey, Grey } },
                    } },
                },
                layersPerImage = 3,
                constructionsPerImage = 2,
                sortHeader = "CTR (Standard)",
                sortedAscending = new[] { "a<&>.png", "b.png" },
                flagged = new[] { (110.0 / 180.0).ToString("0.000", CultureInfo.InvariantCulture) },
            };
            File.WriteAllText(path + ".expect.json", JsonSerializer.Serialize(expect));
            Assert.True(new FileInfo(path).Length > 1000);
            var html = File.ReadAllText(path);
            Assert.StartsWith("<!DOCTYPE html>", html);
            Assert.EndsWith("</html>", html.TrimEnd());
            if (string.IsNullOrEmpty(target)) { File.Delete(path); File.Delete(path + ".expect.json"); }
        }
    }
}
