using System.Net;
using System.Text.RegularExpressions;
using Cxas.Models;

namespace Cxas.Provisioning
{
    /// <summary>
    /// Google Drive answers a request for a large file with a page saying it cannot scan the file for viruses; the
    /// download goes on through that page. Two forms are in use: a form (<c>id="download-form"</c>, an <c>action</c>
    /// such as https://drive.usercontent.google.com/download, hidden inputs id, export, confirm and uuid) submitted
    /// with GET; and the older page with a link carrying <c>confirm=TOKEN</c> or, failing that, a
    /// <c>download_warning_*</c> cookie whose value is the token. This reads either; it runs nothing from the page.
    /// </summary>
    internal static class DriveConfirmation
    {
        private static readonly Regex FormRegex = new Regex(@"<form\b(?<attrs>[^>]*)>(?<body>.*?)</form>",
            RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant);
        private static readonly Regex InputRegex = new Regex(@"<input\b(?<attrs>[^>]*)>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        private static readonly Regex AttrRegex = new Regex(@"(?<name>[\w:-]+)\s*=\s*(?:""(?<v>[^""]*)""|'(?<v>[^']*)'|(?<v>[^\s>]+))",
            RegexOptions.CultureInvariant);
        private static readonly Regex LinkRegex = new Regex(@"href\s*=\s*[""'](?<href>[^""']*[?&](?:amp;)?confirm=[^""']*)[""']",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        private static readonly Regex TitleRegex = new Regex(@"<title[^>]*>(?<t>.*?)</title>", RegexOptions.IgnoreCase | RegexOptions.Singleline);

        /// <summary>
        /// The URL that continues the download, or null when <paramref name="html"/> is not a confirmation page.
        /// <paramref name="page"/> is the page's own URL (for relative links), <paramref name="original"/> the URL first asked for.
        /// </summary>
        public static Uri? NextUrl(string html, Uri page, CookieContainer? cookies, Uri original)
        {
            foreach (Match form in FormRegex.Matches(html))
            {
                var attrs = Attributes(form.Groups["attrs"].Value);
                if (!attrs.TryGetValue("action", out var action) || action.Length == 0) continue;
                if (attrs.TryGetValue("method", out var method) && !method.Equals("get", StringComparison.OrdinalIgnoreCase)) continue;
                var fields = new List<KeyValuePair<string, string>>();
                foreach (Match input in InputRegex.Matches(form.Groups["body"].Value))
                {
                    var a = Attributes(input.Groups["attrs"].Value);
                    if (!a.TryGetValue("name", out var name) || name.Length == 0) continue;
                    if (a.TryGetValue("type", out var type) && !type.Equals("hidden", StringComparison.OrdinalIgnoreCase)) continue;
                    fields.Add(new KeyValuePair<string, string>(name, a.TryGetValue("value", out var v) ? v : ""));
                }
                if (!fields.Any(f => f.Key == "confirm" || f.Key == "id")) continue;
                var target = Resolve(page, action);
                if (target == null) continue;
                var query = string.Join("&", fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value)));
                return new UriBuilder(target) { Query = query }.Uri;
            }
            var link = LinkRegex.Match(html);
            if (link.Success)
            {
                var target = Resolve(page, WebUtility.HtmlDecode(link.Groups["href"].Value));
                if (target != null) return target;
            }
            if (cookies != null)
            {
                foreach (var uri in new[] { page, original })
                    foreach (Cookie cookie in cookies.GetCookies(uri))
                        if (cookie.Name.StartsWith("download_warning", StringComparison.Ordinal) && cookie.Value.Length > 0)
                        {
                            var sep = string.IsNullOrEmpty(original.Query) ? "?" : "&";
                            return new Uri(original + sep + "confirm=" + Uri.EscapeDataString(cookie.Value));
                        }
            }
            return null;
        }

        /// <summary>The page's title, for error messages (at most 120 characters), or null.</summary>
        public static string? Title(string html)
        {
            var m = TitleRegex.Match(html);
            if (!m.Success) return null;
            var t = Regex.Replace(WebUtility.HtmlDecode(m.Groups["t"].Value), @"\s+", " ").Trim();
            return t.Length == 0 ? null : t.Length > 120 ? t.Substring(0, 120) + "..." : t;
        }

        private static Dictionary<string, string> Attributes(string text)
        {
            var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (Match m in AttrRegex.Matches(text))
                if (!result.ContainsKey(m.Groups["name"].Value)) result[m.Groups["name"].Value] = WebUtility.HtmlDecode(m.Groups["v"].Value);
            return result;
        }

        private static Uri? Resolve(Uri page, string href)
        {
            if (!Uri.TryCreate(page, href, out var uri)) return null;
            return uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps ? uri : null;
        }
    }
}
