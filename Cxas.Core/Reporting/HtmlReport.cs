using System.Globalization;
using System.Net;
using System.Text;
using Cxas.Features;
using Cxas.Rendering;

namespace Cxas.Reporting
{
    /// <summary>
    /// Writes a batch report as one self-contained HTML file: a sortable summary table (one row per image, one column
    /// per feature), and per image its radiograph with one transparent layer per class and one for the feature
    /// construction, all as data: URIs, switched on and off with checkboxes. No server, no external files, no network.
    /// </summary>
    public static class HtmlReport
    {
        private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

        /// <summary>CTRs above this (the usual upper limit of normal on a PA film) are highlighted in the summary.</summary>
        public const double CtrUpperNormal = 0.5;

        public static void Write(TextWriter writer, IReadOnlyList<ReportItem> items, string title = "Cxas report", DateTime? generatedUtc = null)
        {
            var columns = SummaryColumns(items);
            var w = writer;
            w.WriteLine("<!DOCTYPE html>");
            w.WriteLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
            w.WriteLine("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
            w.WriteLine($"<title>{E(title)}</title>");
            w.WriteLine("<style>");
            w.WriteLine(Css);
            w.WriteLine("</style></head><body>");
            w.WriteLine($"<h1>{E(title)}</h1>");
            var when = (generatedUtc ?? DateTime.UtcNow).ToString("yyyy-MM-dd HH:mm 'UTC'", Inv);
            w.WriteLine($"<p class=\"meta\">{items.Count} image{(items.Count == 1 ? "" : "s")}, generated {E(when)}. " +
                        "Click a column heading to sort; click an image name to go to its pictures.</p>");

            w.WriteLine("<table id=\"summary\" class=\"sortable\"><thead><tr>");
            w.WriteLine("<th data-type=\"text\" aria-sort=\"none\">Image</th>");
            foreach (var c in columns) w.WriteLine($"<th data-type=\"number\" aria-sort=\"none\">{E(c.Header)}</th>");
            w.WriteLine("</tr></thead><tbody>");
            for (int i = 0; i < items.Count; i++)
            {
                var item = items[i];
                w.Write($"<tr id=\"row-{i}\"><td data-value=\"{E(item.FileName)}\"><a href=\"#img-{i}\">{E(item.FileName)}</a></td>");
                foreach (var c in columns)
                {
                    var v = item.Features.FirstOrDefault(f => Key(f) == c.Key);
                    if (v == null) { w.Write("<td data-value=\"\" class=\"na\">-</td>"); continue; }
                    if (v.Value is double d && v.Feature == "CTR" && d > CtrUpperNormal)
                        w.Write($"<td data-value=\"{d.ToString("R", Inv)}\" class=\"flag\" title=\"above {CtrUpperNormal.ToString(Inv)}\">{E(Format(d, v.Unit))}</td>");
                    else if (v.Value is double d2)
                        w.Write($"<td data-value=\"{d2.ToString("R", Inv)}\">{E(Format(d2, v.Unit))}</td>");
                    else
                        w.Write($"<td data-value=\"\" class=\"status\" title=\"{E(v.Message ?? "")}\">{E(v.Status.ToString())}</td>");
                }
                w.WriteLine("</tr>");
            }
            w.WriteLine("</tbody></table>");

            for (int i = 0; i < items.Count; i++) WriteItem(w, items[i], i);

            w.WriteLine("<script>");
            w.WriteLine(Script);
            w.WriteLine("</script></body></html>");
        }

        /// <summary>Writes the report to <paramref name="output"/> as UTF-8.</summary>
        public static void Write(Stream output, IReadOnlyList<ReportItem> items, string title = "Cxas report", DateTime? generatedUtc = null)
        {
            using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            Write(writer, items, title, generatedUtc);
        }

        private static void WriteItem(TextWriter w, ReportItem item, int i)
        {
            string id = "img-" + i.ToString(Inv);
            w.WriteLine($"<section class=\"image\" id=\"{id}\">");
            w.WriteLine($"<h2>{E(item.FileName)}</h2>");
            w.WriteLine($"<p class=\"meta\" title=\"{E(item.Path)}\">{E(item.Path)} &middot; {item.Width} x {item.Height} px &middot; {E(item.SpacingNote ?? "")}</p>");
            w.WriteLine("<div class=\"viewer\">");
            w.WriteLine($"<div class=\"controls\" data-image=\"{id}\">");
            for (int k = 0; k < item.Layers.Count; k++)
            {
                var layer = item.Layers[k];
                string layerId = $"{id}-layer-{k}";
                w.WriteLine($"<label><input type=\"checkbox\" class=\"layer-toggle\" data-layer=\"{layerId}\"{(layer.Visible ? " checked" : "")}>" +
                            $"<span class=\"swatch\" style=\"background:{E(layer.Color)}\"></span>{E(layer.Name)}" +
                            (layer.Present ? "" : " <em>(not found)</em>") + "</label>");
            }
            for (int k = 0; k < item.ConstructionLayers.Count; k++)
            {
                var layer = item.ConstructionLayers[k];
                w.WriteLine($"<label><input type=\"checkbox\" class=\"layer-toggle construction\" data-layer=\"{id}-construction-{k}\"{(layer.Visible ? " checked" : "")}>" +
                            $"<span class=\"swatch construction\" style=\"border-color:{E(layer.Color)}\"></span>{E(layer.Name)}" +
                            (layer.Present ? "" : " <em>(nothing to draw)</em>") + "</label>");
            }
            w.WriteLine("<div class=\"buttons\"><button type=\"button\" class=\"all\">all</button> <button type=\"button\" class=\"none\">none</button></div>");
            w.WriteLine($"<label class=\"opacity\">layer opacity <input type=\"range\" class=\"opacity\" min=\"0\" max=\"100\" value=\"100\" data-image=\"{id}\"></label>");
            w.WriteLine("<label>size <select class=\"zoom\"><option value=\"fit\" selected>fit</option><option value=\"1\">100 %</option>" +
                        "<option value=\"2\">200 %</option></select></label>");
            w.WriteLine("</div>");

            w.WriteLine($"<div class=\"stack\" data-width=\"{item.DisplayWidth}\" style=\"width:{item.DisplayWidth}px\">");
            string baseSrc = item.BaseJpeg != null ? DataUri("image/jpeg", item.BaseJpeg) : DataUri("image/png", BlackPixel.Value);
            w.WriteLine($"<img class=\"base\" alt=\"{E(item.FileName)}\" width=\"{item.DisplayWidth}\" height=\"{item.DisplayHeight}\" src=\"{baseSrc}\">");
            for (int k = 0; k < item.Layers.Count; k++)
            {
                var layer = item.Layers[k];
                w.WriteLine($"<img class=\"layer\" id=\"{id}-layer-{k}\" alt=\"{E(layer.Name)}\" width=\"{item.DisplayWidth}\" height=\"{item.DisplayHeight}\"" +
                            $"{(layer.Visible ? "" : " style=\"visibility:hidden\"")} src=\"{DataUri("image/png", layer.Png)}\">");
            }
            for (int k = 0; k < item.ConstructionLayers.Count; k++)
            {
                var layer = item.ConstructionLayers[k];
                w.WriteLine($"<img class=\"layer\" id=\"{id}-construction-{k}\" alt=\"{E(layer.Name)}\" width=\"{item.DisplayWidth}\" height=\"{item.DisplayHeight}\"" +
                            $"{(layer.Visible ? "" : " style=\"visibility:hidden\"")} src=\"{DataUri("image/png", layer.Png)}\">");
            }
            w.WriteLine("</div></div>");

            if (item.Features.Count > 0)
            {
                w.WriteLine("<table class=\"features\"><thead><tr><th>Feature</th><th>Method</th><th>Label</th><th>Value</th><th>Unit</th><th>Status</th><th>How it was measured</th></tr></thead><tbody>");
                foreach (var f in item.Features)
                {
                    w.WriteLine($"<tr><td>{E(f.Feature)}</td><td>{E(f.Method ?? "")}</td><td>{E(f.Label ?? "")}</td>" +
                                $"<td>{(f.Value is double d ? E(Format(d, f.Unit)) : "")}</td><td>{E(f.Unit)}</td>" +
                                $"<td>{E(f.Status.ToString())}</td><td>{E(f.Message ?? Explain(f))}</td></tr>");
                }
                w.WriteLine("</tbody></table>");
            }
            w.WriteLine("</section>");
        }

        /// <summary>A sentence naming the parts a value was built from.</summary>
        public static string Explain(FeatureValue f)
        {
            string u = f.Unit == "ratio" || f.Unit == "1" ? (f.SpacingSource != null ? "mm" : "px") : f.Unit.Replace("^2", "");
            string L(double? v) => v is double d ? d.ToString("0.##", Inv) + " " + u : "?";
            string A(double? v) => v is double d ? d.ToString("0.##", Inv) + " " + u + "^2" : "?";
            switch (f.Feature)
            {
                case "CTR":
                    return $"heart width {L(f.HeartWidth)} (right extent {L(f.RightHeartExtent)} at row {f.HeartRightYPx}, " +
                           $"left extent {L(f.LeftHeartExtent)} at row {f.HeartLeftYPx}, midline x = {f.MidlineXPx?.ToString("0.#", Inv)} px); " +
                           $"thoracic width {L(f.ThoracicWidth)} at row {f.ThoraxYPx}";
                case "SCD":
                    return $"{f.VertebraCount} vertebrae ({f.Vertebrae}); line x = {f.LineIntercept?.ToString("0.##", Inv)} + {f.LineSlope?.ToString("0.####", Inv)} y; " +
                           $"largest distance {L(f.MaxDistance)}";
                case "Centroid":
                    return $"x {L(f.X)}, y {L(f.Y)}";
                case "BoundingBox":
                    return $"x {L(f.X)}, y {L(f.Y)}, width {L(f.Width)}, height {L(f.Height)}";
                case "Compactness":
                    return $"4 pi x contour area {A(f.ContourArea)} / perimeter {L(f.Perimeter)} squared";
                case "Convexity":
                    return $"contour area {A(f.ContourArea)} / convex hull area {A(f.ConvexArea)}";
                default:
                    return f.PixelCount is long n ? $"{n} pixels" : "";
            }
        }

        private sealed class Column
        {
            public string Key = "";
            public string Header = "";
        }

        private static string Key(FeatureValue f) =>
            f.Feature + "|" + (f.Method ?? "") + "|" + (FeatureNames.TryParse(f.Feature, out var k) && FeatureNames.IsShapeFeature(k) ? f.Label : "");

        private static List<Column> SummaryColumns(IReadOnlyList<ReportItem> items)
        {
            var columns = new List<Column>();
            foreach (var item in items)
                foreach (var f in item.Features)
                {
                    string key = Key(f);
                    if (columns.Any(c => c.Key == key)) continue;
                    string header = f.Feature + (f.Method != null ? " (" + f.Method + ")" : "");
                    if (FeatureNames.TryParse(f.Feature, out var kind) && FeatureNames.IsShapeFeature(kind)) header += ": " + f.Label;
                    columns.Add(new Column { Key = key, Header = header });
                }
            return columns;
        }

        private static string Format(double v, string unit) => unit switch
        {
            "ratio" => v.ToString("0.000", Inv),
            "1" => v.ToString("0.000", Inv),
            _ => v.ToString("0.##", Inv) + " " + unit,
        };

        private static string DataUri(string mime, byte[] bytes) => "data:" + mime + ";base64," + Convert.ToBase64String(bytes);

        private static string E(string s) => WebUtility.HtmlEncode(s);

        private static readonly Lazy<byte[]> BlackPixel = new Lazy<byte[]>(() =>
        {
            var c = new RgbaCanvas(1, 1);
            c.FillRect(0, 0, 1, 1, new Rgba(0, 0, 0));
            return c.ToPng();
        });

        private const string Css = @"
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-bottom: 0.2em; }
.meta { color: #666; font-size: 0.9em; word-break: break-all; }
table { border-collapse: collapse; margin: 0.5em 0 1em; background: #fff; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; font-size: 0.9em; }
#summary th { cursor: pointer; background: #eee; user-select: none; }
#summary th[aria-sort=ascending]::after { content: ' \25B2'; }
#summary th[aria-sort=descending]::after { content: ' \25BC'; }
td.status { color: #b00; } td.na { color: #999; } td.flag { color: #b00; font-weight: bold; }
section.image { border-top: 2px solid #ddd; padding-top: 0.5em; margin-top: 1.5em; }
.viewer { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; overflow-x: auto; }
.controls { display: flex; flex-direction: column; gap: 0.2em; min-width: 14em; font-size: 0.9em; }
.controls label { cursor: pointer; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.4em; vertical-align: middle; border: 1px solid #333; }
.swatch.construction { background: repeating-linear-gradient(45deg, #fff 0 2px, #333 2px 4px); border-width: 2px; }
.stack { position: relative; max-width: 100%; line-height: 0; background: #000; }
.stack img { display: block; width: 100%; height: auto; }
.stack img.layer { position: absolute; left: 0; top: 0; }
";

        private const string Script = @"
(function () {
  'use strict';
  function layersOf(section) { return section.querySelectorAll('.stack img.layer'); }
  document.querySelectorAll('input.layer-toggle').forEach(function (box) {
    box.addEventListener('change', function () {
      var layer = document.getElementById(box.getAttribute('data-layer'));
      if (layer) layer.style.visibility = box.checked ? 'visible' : 'hidden';
    });
  });
  document.querySelectorAll('section.image').forEach(function (section) {
    function setAll(on) {
      section.querySelectorAll('input.layer-toggle').forEach(function (box) {
        if (box.checked !== on) { box.checked = on; box.dispatchEvent(new Event('change')); }
      });
    }
    section.querySelector('button.all').addEventListener('click', function () { setAll(true); });
    section.querySelector('button.none').addEventListener('click', function () { setAll(false); });
    var stack = section.querySelector('.stack');
    var zoom = section.querySelector('select.zoom');
    zoom.addEventListener('change', function () {
      var width = parseInt(stack.getAttribute('data-width'), 10);
      if (zoom.value === 'fit') { stack.style.width = width + 'px'; stack.style.maxWidth = '100%'; }
      else { stack.style.width = (width * parseFloat(zoom.value)) + 'px'; stack.style.maxWidth = 'none'; }
    });
    var range = section.querySelector('input.opacity');
    range.addEventListener('input', function () {
      layersOf(section).forEach(function (img) { img.style.opacity = String(range.value / 100); });
    });
  });
  var table = document.getElementById('summary');
  if (!table) return;
  var headers = table.querySelectorAll('thead th');
  headers.forEach(function (th, index) {
    th.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      headers.forEach(function (h) { h.setAttribute('aria-sort', 'none'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var numeric = th.getAttribute('data-type') === 'number';
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index].getAttribute('data-value'), y = b.cells[index].getAttribute('data-value');
        if (x === '' && y === '') return 0;
        if (x === '') return 1;   // missing values last in both directions
        if (y === '') return -1;
        var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return ascending ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
";
    }
}
