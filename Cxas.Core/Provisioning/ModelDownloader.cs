using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Cxas.IO;
using Cxas.Models;

namespace Cxas.Provisioning
{
    /// <summary>How downloads behave; the defaults suit a 300 MB file over an ordinary connection. Options a caller fills, so settable.</summary>
    public sealed class DownloadOptions
    {
        /// <summary>An explicit proxy; null uses the system's (environment variables on Linux/macOS, WinINet settings on Windows).</summary>
        public IWebProxy? Proxy { get; set; }
        /// <summary>Time allowed from sending a request to the response's headers.</summary>
        public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>
        /// Time allowed without a single byte arriving while the body streams; a body that brings fewer than
        /// <see cref="MinimumBytesPerSecond"/> over this time (a trickle that never goes idle) is a stall as well.
        /// </summary>
        public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>The slowest transfer taken as alive, averaged over <see cref="ReadTimeout"/>.</summary>
        public long MinimumBytesPerSecond { get; set; } = 1024;
        /// <summary>Time allowed for the whole download: every request, redirect, resume and pause.</summary>
        public TimeSpan Deadline { get; set; } = DefaultDeadline;
        /// <summary>Largest file accepted: a body (announced or received) beyond it is refused.</summary>
        public long MaxBytes { get; set; } = DefaultMaxBytes;
        /// <summary>2 GiB: several times the largest chest X-ray segmentation checkpoint (the reference's is 0.3 GB).</summary>
        public const long DefaultMaxBytes = 2L << 30;
        public static readonly TimeSpan DefaultDeadline = TimeSpan.FromHours(1);
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

    internal sealed class DownloadResult
    {
        public string Url { get; internal init; } = "";
        /// <summary>The URL the bytes finally came from (after redirects and a Drive confirmation).</summary>
        public string FinalUrl { get; internal init; } = "";
        public long Bytes { get; internal init; }
        public int Resumes { get; internal init; }
        public TimeSpan Elapsed { get; internal init; }
    }

    /// <summary>
    /// Downloads one PyTorch checkpoint over HTTP(S) into a file: streamed, resumed with HTTP Range after a broken
    /// connection (a server that ignores Range is read again from the start), redirects followed (at most 10, never
    /// from https to http), an HTML page or anything that is not a torch.save zip refused at its first bytes, a body
    /// shorter than announced treated as a break, timeouts on the response and on every read, a trickle slower than
    /// <see cref="DownloadOptions.MinimumBytesPerSecond"/> taken as a stall. Bounded against a misbehaving server: a size
    /// cap (<see cref="DownloadOptions.MaxBytes"/>, announced or received), one deadline over everything
    /// (<see cref="DownloadOptions.Deadline"/>), redirects to http(s) only. Runs on the calling thread, so progress
    /// callbacks arrive there too; one download at a time per downloader. Errors are <see cref="CxasException"/> naming
    /// the URL, or the file for a write error (a full disk).
    /// </summary>
    internal sealed class ModelDownloader : IDisposable
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
            // One clock for the whole download: every request, read and pause is cut to what is left of the deadline.
            _clock = Stopwatch.StartNew();
            var current = url;
            int pages = 0, resumes = 0, requests = 0;
            long? total = null;
            long have = 0;
            long lastShown = -1000;
            var rate = new RateMeter();
            string? lastBreak = null;

            using var file = Open(destination);
            try
            {
                while (true)
                {
                    cancel.ThrowIfCancellationRequested();
                    if (Remaining() <= TimeSpan.Zero) throw new DeadlinePassed();
                    have = file.Length;
                    HttpResponseMessage response;
                    Uri final;
                    try
                    {
                        requests++;
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
                            Truncate(file, destination);
                            if (++resumes > _options.MaxResumes)
                                throw new CxasException(CxasErrorKind.InvalidData, $"{Describe(url)} refused to resume the download (HTTP 416) {resumes - 1} times.");
                            continue;
                        }
                        if (status == 404 || status == 410)
                            throw new CxasException(CxasErrorKind.NotFound, $"{Describe(url)} answered HTTP {status} ({PeerText.Clean(response.ReasonPhrase)}): there is no file at {final}.");
                        if (status < 200 || status > 299)
                            throw new CxasException(status >= 500 || status == 408 || status == 429 ? CxasErrorKind.Network : CxasErrorKind.NotFound,
                                $"{Describe(url)} answered HTTP {status} ({PeerText.Clean(response.ReasonPhrase)}) for {final}.");

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
                                Truncate(file, destination);
                                have = 0;
                            }
                        }
                        if (have == 0)
                        {
                            var length = response.Content.Headers.ContentLength;
                            if (status == 206 && response.Content.Headers.ContentRange?.Length is long full) total = full;
                            else total = length;
                        }
                        // A size announced beyond the cap is refused before its first byte.
                        if (total > _options.MaxBytes) throw TooLarge(url, total);

                        var stream = response.Content.ReadAsStreamAsync().GetAwaiter().GetResult();
                        var buffer = new byte[1 << 16];
                        bool broke = false;
                        var window = new StallWindow(_options, _clock);
                        try
                        {
                            if (have == 0)
                            {
                                int n = ReadAtLeast(stream, buffer, 512, window, cancel);
                                var next = Inspect(buffer, n, stream, response, url, final, ref pages);
                                if (next != null)
                                {
                                    current = next; // a Drive confirmation page: its form leads to the file
                                    continue;
                                }
                                Append(file, buffer, n, destination);
                                have += n;
                            }
                            while (true)
                            {
                                int n = ReadWithTimeout(stream, buffer, cancel);
                                if (n == 0) break;
                                if (have + n > _options.MaxBytes) throw TooLarge(url, null);
                                Append(file, buffer, n, destination);
                                have += n;
                                if (total.HasValue && have > total.Value)
                                    throw new CxasException(CxasErrorKind.InvalidData, $"{Describe(url)} sent more bytes than the {total} it announced.");
                                window.Add(n);
                                rate.Add(n);
                                long now = _clock.ElapsedMilliseconds;
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
                        Flush(file, destination, toDisk: false);
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
            }
            catch (DeadlinePassed)
            {
                throw new CxasException(CxasErrorKind.Network,
                    $"The download from {Describe(url)} did not finish within its deadline of {Seconds(_options.Deadline)}: {have} of " +
                    $"{(total.HasValue ? total.ToString() : "?")} bytes in {requests} request(s){(lastBreak == null ? "" : $", the last break: {lastBreak}")}. Nothing was installed.",
                    null, null, CxasRemedy.AllowMoreTime);
            }
            Flush(file, destination, toDisk: true);
            progress?.Invoke(new DownloadProgress(url.ToString(), file.Length, total ?? file.Length, rate.BytesPerSecond, resumes));
            return new DownloadResult { Url = url.ToString(), FinalUrl = current.ToString(), Bytes = file.Length, Resumes = resumes, Elapsed = _clock.Elapsed };
        }

        // ---- the destination file: every write error is the file's, never a break of the connection ----

        private static FileStream Open(string destination) =>
            // Unbuffered (the body comes in 64 KiB pieces anyway): closing the file after an error has nothing left to write, so
            // a full disk cannot turn that error into a raw one at dispose.
            WriteStep(destination, () => new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1));

        private static void Append(FileStream file, byte[] buffer, int n, string destination) =>
            WriteStep(destination, () => { file.Write(buffer, 0, n); return 0; });

        private static void Flush(FileStream file, string destination, bool toDisk) =>
            WriteStep(destination, () => { file.Flush(toDisk); return 0; });

        private static void Truncate(FileStream file, string destination) =>
            WriteStep(destination, () => { file.SetLength(0); file.Position = 0; return 0; });

        private static T WriteStep<T>(string destination, Func<T> step)
        {
            try
            {
                return step();
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.WriteFailed,
                    $"Cannot write the download to '{destination}' ({ex.Message.TrimEnd('.')}; a full disk ends here too). Nothing was installed.", destination, ex);
            }
        }

        private CxasException TooLarge(Uri url, long? announced) =>
            new CxasException(CxasErrorKind.LimitExceeded,
                $"{Describe(url)} {(announced.HasValue ? $"announces {announced} bytes, more than" : "sent more than")} the {_options.MaxBytes} bytes " +
                $"({_options.MaxBytes / (1 << 20)} MiB) a checkpoint may have (the download size limit): refused, nothing was installed.",
                null, null, CxasRemedy.RaiseSizeLimit);

        // ---- the deadline ----

        private Stopwatch _clock = new Stopwatch();

        /// <summary>Thrown where the deadline passes (a read, a request, a pause); the download turns it into its error.</summary>
        private sealed class DeadlinePassed : Exception { }

        private TimeSpan Remaining() => _options.Deadline - _clock.Elapsed;

        /// <summary>A wait of at most <paramref name="limit"/>, cut to what is left of the deadline.</summary>
        private TimeSpan Within(TimeSpan limit)
        {
            var left = Remaining();
            if (left <= TimeSpan.Zero) throw new DeadlinePassed();
            return left < limit ? left : limit;
        }

        internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " s";


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
                    $"{Describe(url)} did not send a PyTorch checkpoint: it starts with {Hex(head, n)} ({(mediaType.Length > 0 ? PeerText.Clean(mediaType) : "no content type")}), " +
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
            var title = DriveConfirmation.Title(body) is string t ? PeerText.Clean(t) : null;
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
                    timeout.CancelAfter(Within(_options.ResponseTimeout));
                    try
                    {
                        response = _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).GetAwaiter().GetResult();
                    }
                    catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                    {
                        if (Remaining() <= TimeSpan.Zero) throw new DeadlinePassed();
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
                // Only http(s) is followed: a file:, ftp: or other scheme is the server's mistake (or an attack on local files).
                if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps)
                    throw new CxasException(CxasErrorKind.NotSupported,
                        $"{Describe(url)} redirected to a '{next.Scheme}:' URL; only http and https redirects are followed: refused.");
                if (current.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps)
                    throw new CxasException(CxasErrorKind.Network, $"{Describe(url)} redirected from https to {next.Scheme}: refused.");
                current = next;
            }
        }

        private int ReadWithTimeout(Stream stream, byte[] buffer, CancellationToken cancel) => ReadWithTimeout(stream, buffer, 0, buffer.Length, cancel);

        private int ReadWithTimeout(Stream stream, byte[] buffer, int offset, int count, CancellationToken cancel)
        {
            var limit = Within(_options.ReadTimeout);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(limit);
            var read = stream.ReadAsync(buffer, offset, count, timeout.Token);
            // Some streams ignore the token: waiting with a limit makes the timeout hold regardless.
            bool done;
            try
            {
                done = read.Wait((int)Math.Min(int.MaxValue, (limit + TimeSpan.FromSeconds(1)).TotalMilliseconds), cancel);
            }
            catch (AggregateException)
            {
                done = true; // failed or cancelled by the timeout: told apart below
            }
            if (done && read.Status == TaskStatus.RanToCompletion) return read.Result;
            if (Remaining() <= TimeSpan.Zero) throw new DeadlinePassed();
            if (!done) throw new TimeoutException($"no data for {Seconds(limit)}");
            try
            {
                return read.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new TimeoutException($"no data for {Seconds(limit)}");
            }
        }

        /// <summary>Reads until <paramref name="wanted"/> bytes are in <paramref name="buffer"/> or the body ends.</summary>
        private int ReadAtLeast(Stream stream, byte[] buffer, int wanted, StallWindow window, CancellationToken cancel)
        {
            int n = 0;
            while (n < wanted)
            {
                int m = ReadWithTimeout(stream, buffer, n, buffer.Length - n, cancel);
                if (m == 0) break;
                window.Add(m);
                n += m;
            }
            return n;
        }

        private void Pause(int resumes, CancellationToken cancel)
        {
            var delay = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, _options.ResumeDelay.Ticks * (1L << Math.Min(10, resumes - 1))));
            // A pause that would end past the deadline is not taken: the download fails now, not after waiting for nothing.
            if (delay >= Remaining()) throw new DeadlinePassed();
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
    }
}
