using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Cxas.Models.Install
{
    /// <summary>How downloads behave; the defaults suit a 300 MB file over an ordinary connection.</summary>
    public sealed class DownloadOptions
    {
        /// <summary>An explicit proxy; null uses the system's (environment variables on Linux/macOS, WinINet settings on Windows).</summary>
        public IWebProxy? Proxy { get; set; }
        /// <summary>Time allowed from sending a request to the response's headers.</summary>
        public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>Time allowed without a single byte arriving while the body streams.</summary>
        public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>How many times a broken transfer is resumed (HTTP Range) before giving up.</summary>
        public int MaxResumes { get; set; } = 8;
        /// <summary>Pause before a resume (doubled each time, up to 30 s).</summary>
        public TimeSpan ResumeDelay { get; set; } = TimeSpan.FromSeconds(2);
        /// <summary>Follow a Google Drive "cannot scan this file for viruses" page to the file itself.</summary>
        public bool FollowDriveConfirmation { get; set; }
        public string UserAgent { get; set; } = "Cxas/" + (typeof(ModelDownloader).Assembly.GetName().Version?.ToString(3) ?? "0");
    }

    /// <summary>Where a download stands, for progress displays.</summary>
    public sealed class DownloadProgress
    {
        public DownloadProgress(string url, long bytes, long? total, double bytesPerSecond, int resumes)
        {
            Url = url; Bytes = bytes; Total = total; BytesPerSecond = bytesPerSecond; Resumes = resumes;
        }
        public string Url { get; }
        public long Bytes { get; }
        public long? Total { get; }
        public double BytesPerSecond { get; }
        public int Resumes { get; }
        /// <summary>0..100, or -1 when the size is unknown.</summary>
        public int Percent => Total is long t && t > 0 ? (int)Math.Min(100, Bytes * 100 / t) : -1;
    }

    public sealed class DownloadResult
    {
        public string Url { get; set; } = "";
        /// <summary>The URL the bytes finally came from (after redirects and a Drive confirmation).</summary>
        public string FinalUrl { get; set; } = "";
        public long Bytes { get; set; }
        public int Resumes { get; set; }
        public TimeSpan Elapsed { get; set; }
    }

    /// <summary>
    /// Downloads one PyTorch checkpoint over HTTP(S) into a file: streamed, resumed with HTTP Range after a broken
    /// connection (a server that ignores Range is read again from the start), redirects followed (at most 10, never
    /// from https to http), an HTML page or anything that is not a torch.save zip refused at its first bytes, a body
    /// shorter than announced treated as a break, timeouts on the response and on every read. Runs on the calling
    /// thread, so progress callbacks arrive there too. Errors are <see cref="CxasException"/> naming the URL.
    /// </summary>
    public sealed class ModelDownloader : IDisposable
    {
        private const int MaxRedirects = 10;
        private const int MaxConfirmationPages = 3;
        private static readonly byte[] ZipMagic = { (byte)'P', (byte)'K', 3, 4 };

        private readonly DownloadOptions _options;
        private readonly HttpClientHandler _handler;
        private readonly HttpClient _client;

        public ModelDownloader(DownloadOptions? options = null)
        {
            _options = options ?? new DownloadOptions();
            Cxas.IO.FrameworkTls.Ensure();
            _handler = new HttpClientHandler
            {
                AllowAutoRedirect = false,
                UseCookies = true,
                CookieContainer = new CookieContainer(),
                AutomaticDecompression = DecompressionMethods.None,
            };
            if (_options.Proxy != null)
            {
                _handler.Proxy = _options.Proxy;
                _handler.UseProxy = true;
            }
            _client = new HttpClient(_handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
            _client.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
        }

        public void Dispose()
        {
            _client.Dispose();
            _handler.Dispose();
        }

        /// <summary>Downloads <paramref name="url"/> into <paramref name="destination"/> (created or truncated).</summary>
        public DownloadResult Download(Uri url, string destination, Action<DownloadProgress>? progress = null, CancellationToken cancel = default)
        {
            if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
                throw new CxasException(CxasErrorKind.InvalidArgument, $"'{url}' is not an http or https URL.");
            var clock = Stopwatch.StartNew();
            var current = url;
            int pages = 0, resumes = 0;
            long? total = null;
            long lastShown = -1000;
            var rate = new RateMeter();
            string? lastBreak = null;

            using var file = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                long have = file.Length;
                HttpResponseMessage response;
                Uri final;
                try
                {
                    (response, final) = Send(current, have > 0 ? have : (long?)null, cancel);
                }
                catch (CxasException ex) when (ex.Kind == CxasErrorKind.Network && have > 0 && resumes < _options.MaxResumes)
                {
                    // The connection went away between two requests of a resumed transfer: wait and try again.
                    resumes++;
                    lastBreak = ex.Message;
                    Pause(resumes, cancel);
                    continue;
                }
                using (response)
                {
                    var status = (int)response.StatusCode;
                    if (have > 0 && status == 416)
                    {
                        if (total == have) break; // everything was there already
                        // The file changed under us or the server counts differently: start again from the first byte.
                        file.SetLength(0);
                        file.Position = 0;
                        if (++resumes > _options.MaxResumes)
                            throw new CxasException(CxasErrorKind.InvalidData, $"{Describe(url)} refused to resume the download (HTTP 416) {resumes - 1} times.");
                        continue;
                    }
                    if (status == 404 || status == 410)
                        throw new CxasException(CxasErrorKind.NotFound, $"{Describe(url)} answered HTTP {status} ({response.ReasonPhrase}): there is no file at {final}.");
                    if (status < 200 || status > 299)
                        throw new CxasException(status >= 500 || status == 408 || status == 429 ? CxasErrorKind.Network : CxasErrorKind.NotFound,
                            $"{Describe(url)} answered HTTP {status} ({response.ReasonPhrase}) for {final}.");

                    if (have > 0)
                    {
                        var range = response.Content.Headers.ContentRange;
                        if (status == 206 && range != null && range.From == have)
                        {
                            if (range.Length.HasValue) total = range.Length;
                        }
                        else
                        {
                            // The server sent the whole file again (no Range support) or another part: start over.
                            file.SetLength(0);
                            file.Position = 0;
                            have = 0;
                        }
                    }
                    if (have == 0)
                    {
                        var length = response.Content.Headers.ContentLength;
                        if (status == 206 && response.Content.Headers.ContentRange?.Length is long full) total = full;
                        else total = length;
                    }

                    var stream = response.Content.ReadAsStreamAsync().GetAwaiter().GetResult();
                    var buffer = new byte[1 << 16];
                    bool broke = false;
                    try
                    {
                        if (have == 0)
                        {
                            int n = ReadAtLeast(stream, buffer, 512, cancel);
                            var next = Inspect(buffer, n, stream, response, url, final, ref pages);
                            if (next != null)
                            {
                                current = next; // a Drive confirmation page: its form leads to the file
                                continue;
                            }
                            file.Write(buffer, 0, n);
                            have += n;
                        }
                        while (true)
                        {
                            int n = ReadWithTimeout(stream, buffer, cancel);
                            if (n == 0) break;
                            file.Write(buffer, 0, n);
                            have += n;
                            if (total.HasValue && have > total.Value)
                                throw new CxasException(CxasErrorKind.InvalidData, $"{Describe(url)} sent more bytes than the {total} it announced.");
                            rate.Add(n);
                            long now = clock.ElapsedMilliseconds;
                            if (progress != null && now - lastShown >= 250)
                            {
                                lastShown = now;
                                progress(new DownloadProgress(url.ToString(), have, total, rate.BytesPerSecond, resumes));
                            }
                        }
                    }
                    catch (Exception ex) when (IsBreak(ex, cancel))
                    {
                        broke = true;
                        lastBreak = Message(ex);
                    }
                    file.Flush();
                    have = file.Length;
                    if (!broke && (!total.HasValue || have == total.Value)) break;
                    if (!broke) lastBreak = $"the connection closed after {have} of {total} bytes";
                    if (resumes >= _options.MaxResumes)
                        throw new CxasException(CxasErrorKind.InvalidData,
                            $"The download from {Describe(url)} is truncated: {have} of {(total.HasValue ? total.ToString() : "?")} bytes after {resumes} resume(s) " +
                            $"({lastBreak}). Nothing was installed; run the command again to retry.");
                    resumes++;
                    Pause(resumes, cancel);
                }
            }
            file.Flush(true);
            progress?.Invoke(new DownloadProgress(url.ToString(), file.Length, total ?? file.Length, rate.BytesPerSecond, resumes));
            return new DownloadResult { Url = url.ToString(), FinalUrl = current.ToString(), Bytes = file.Length, Resumes = resumes, Elapsed = clock.Elapsed };
        }

        /// <summary>
        /// Checks the first bytes of a body that starts a file. Returns the URL to continue with when the body is a
        /// Drive confirmation page; throws when it is any other page or not a checkpoint; null when it is a zip.
        /// </summary>
        private Uri? Inspect(byte[] head, int n, Stream stream, HttpResponseMessage response, Uri url, Uri final, ref int pages)
        {
            if (IsZip(head, n)) return null;
            var mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
            bool html = mediaType.IndexOf("html", StringComparison.OrdinalIgnoreCase) >= 0 || LooksLikeHtml(head, n);
            if (!html)
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"{Describe(url)} did not send a PyTorch checkpoint: it starts with {Hex(head, n)} ({(mediaType.Length > 0 ? mediaType : "no content type")}), " +
                    "where a torch.save file starts with 'PK\\x03\\x04'.");
            // Read the rest of the page (bounded) to look for a confirmation form or to quote its title.
            var page = new MemoryStream();
            page.Write(head, 0, n);
            var buffer = new byte[1 << 14];
            int m;
            while (page.Length < (2 << 20) && (m = ReadWithTimeout(stream, buffer, CancellationToken.None)) > 0) page.Write(buffer, 0, m);
            var body = Encoding.UTF8.GetString(page.ToArray());
            if (_options.FollowDriveConfirmation && pages < MaxConfirmationPages)
            {
                var next = DriveConfirmation.NextUrl(body, final, _handler.CookieContainer, url);
                if (next != null)
                {
                    pages++;
                    return next;
                }
            }
            var title = DriveConfirmation.Title(body);
            throw new CxasException(CxasErrorKind.InvalidData,
                $"{Describe(url)} answered with an HTML page{(title == null ? "" : $" (\"{title}\")")} where a checkpoint was expected " +
                "(a login, quota or error page, or a link to a web page instead of the file).");
        }

        /// <summary>Whether a file's first bytes are a zip's (what torch.save writes).</summary>
        public static bool IsZip(byte[] head, int n) => n >= 4 && head.Take(4).SequenceEqual(ZipMagic);

        /// <summary>Whether a file's first bytes look like a web page (markup after optional BOM and white space).</summary>
        public static bool LooksLikeHtml(byte[] head, int n) =>
            Encoding.UTF8.GetString(head, 0, n).TrimStart('\uFEFF', ' ', '\t', '\r', '\n').StartsWith("<", StringComparison.Ordinal);

        /// <summary>One request, following redirects itself so that a Range header and cookies survive every hop.</summary>
        private (HttpResponseMessage Response, Uri Final) Send(Uri url, long? from, CancellationToken cancel)
        {
            var current = url;
            for (int hop = 0; ; hop++)
            {
                var request = new HttpRequestMessage(HttpMethod.Get, current);
                if (from.HasValue) request.Headers.Range = new RangeHeaderValue(from.Value, null);
                HttpResponseMessage response;
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel))
                {
                    timeout.CancelAfter(_options.ResponseTimeout);
                    try
                    {
                        response = _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).GetAwaiter().GetResult();
                    }
                    catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                    {
                        throw new CxasException(CxasErrorKind.Network,
                            $"{Describe(url)} did not answer within {_options.ResponseTimeout.TotalSeconds:0} s ({current.Host}).");
                    }
                    catch (HttpRequestException ex)
                    {
                        throw new CxasException(CxasErrorKind.Network,
                            $"Cannot reach {current.Host} for {Describe(url)}: {Message(ex)}.", null, ex, CxasRemedy.UseProxyOrLocalFile);
                    }
                }
                int status = (int)response.StatusCode;
                if (status < 300 || status > 399 || status == 304) return (response, current);
                var location = response.Headers.Location;
                response.Dispose();
                if (location == null)
                    throw new CxasException(CxasErrorKind.Network, $"{Describe(url)} answered HTTP {status} without a Location.");
                if (hop >= MaxRedirects)
                    throw new CxasException(CxasErrorKind.Network, $"{Describe(url)} redirected more than {MaxRedirects} times.");
                var next = location.IsAbsoluteUri ? location : new Uri(current, location);
                if (current.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps)
                    throw new CxasException(CxasErrorKind.Network, $"{Describe(url)} redirected from https to {next.Scheme}: refused.");
                current = next;
            }
        }

        private int ReadWithTimeout(Stream stream, byte[] buffer, CancellationToken cancel) => ReadWithTimeout(stream, buffer, 0, buffer.Length, cancel);

        private int ReadWithTimeout(Stream stream, byte[] buffer, int offset, int count, CancellationToken cancel)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(_options.ReadTimeout);
            var read = stream.ReadAsync(buffer, offset, count, timeout.Token);
            // Some streams ignore the token: waiting with a limit makes the timeout hold regardless.
            if (!read.Wait((int)Math.Min(int.MaxValue, (_options.ReadTimeout + TimeSpan.FromSeconds(1)).TotalMilliseconds), cancel))
                throw new TimeoutException($"no data for {_options.ReadTimeout.TotalSeconds:0} s");
            try
            {
                return read.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new TimeoutException($"no data for {_options.ReadTimeout.TotalSeconds:0} s");
            }
        }

        /// <summary>Reads until <paramref name="wanted"/> bytes are in <paramref name="buffer"/> or the body ends.</summary>
        private int ReadAtLeast(Stream stream, byte[] buffer, int wanted, CancellationToken cancel)
        {
            int n = 0;
            while (n < wanted)
            {
                int m = ReadWithTimeout(stream, buffer, n, buffer.Length - n, cancel);
                if (m == 0) break;
                n += m;
            }
            return n;
        }

        private void Pause(int resumes, CancellationToken cancel)
        {
            var delay = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, _options.ResumeDelay.Ticks * (1L << Math.Min(10, resumes - 1))));
            if (delay > TimeSpan.Zero) cancel.WaitHandle.WaitOne(delay);
            cancel.ThrowIfCancellationRequested();
        }

        private static bool IsBreak(Exception ex, CancellationToken cancel) =>
            !cancel.IsCancellationRequested
            && (ex is IOException || ex is HttpRequestException || ex is TimeoutException || ex is OperationCanceledException
                || ex is ObjectDisposedException || (ex is AggregateException a && a.InnerExceptions.All(e => IsBreak(e, cancel))));

        private static string Message(Exception ex)
        {
            var parts = new System.Collections.Generic.List<string>();
            for (var e = ex; e != null; e = e.InnerException)
                if (!parts.Contains(e.Message)) parts.Add(e.Message);
            return string.Join(": ", parts);
        }

        private static string Describe(Uri url) => url.IsLoopback || url.Host.Length == 0 ? url.ToString() : url.GetLeftPart(UriPartial.Path);

        private static string Hex(byte[] b, int n) => string.Join(" ", b.Take(Math.Min(8, n)).Select(x => x.ToString("x2")));

        /// <summary>Bytes per second over the last few seconds.</summary>
        private sealed class RateMeter
        {
            private readonly Stopwatch _clock = Stopwatch.StartNew();
            private readonly System.Collections.Generic.Queue<(long Ms, long Bytes)> _window = new System.Collections.Generic.Queue<(long, long)>();
            private long _bytes;

            public void Add(int n)
            {
                long now = _clock.ElapsedMilliseconds;
                _bytes += n;
                _window.Enqueue((now, _bytes));
                while (_window.Count > 2 && now - _window.Peek().Ms > 5000) _window.Dequeue();
            }

            public double BytesPerSecond
            {
                get
                {
                    if (_window.Count < 2) return 0;
                    var first = _window.Peek();
                    long ms = _clock.ElapsedMilliseconds - first.Ms;
                    return ms <= 0 ? 0 : (_bytes - first.Bytes) * 1000.0 / ms;
                }
            }
        }
    }
}
