using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using Cxas.Dicom;
using Cxas.Imaging;

namespace Cxas.DicomWeb
{
    /// <summary>How a <see cref="DicomWebClient"/> connects and retries.</summary>
    public sealed class DicomWebOptions
    {
        /// <summary>Accept any server certificate (only when asked: -SkipCertificateCheck).</summary>
        public bool SkipCertificateCheck { get; set; }
        /// <summary>Send credentials over plain http (refused otherwise, as Invoke-RestMethod does).</summary>
        public bool AllowUnencryptedAuthentication { get; set; }
        /// <summary>Attempts per request for 429, 502, 503, 504, dropped connections and timeouts (at least 1).</summary>
        public int MaxAttempts { get; set; } = 4;
        /// <summary>First backoff; it doubles on each retry.</summary>
        public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(0.5);
        /// <summary>Longest wait between attempts, Retry-After included (a longer Retry-After ends the retries).</summary>
        public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>Time allowed for one request, response body included.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(120);
        /// <summary>A proxy; null uses the system's (loopback addresses bypass it).</summary>
        public IWebProxy? Proxy { get; set; }
        /// <summary>Largest response accepted (an instance or a query page), in bytes.</summary>
        public long MaxResponseBytes { get; set; } = 1L << 30;
        /// <summary>Messages about requests and retries (never credentials); the cmdlets send them to the verbose stream.</summary>
        public Action<string>? Log { get; set; }
        /// <summary>How to wait between attempts (tests replace it).</summary>
        public Action<TimeSpan, CancellationToken> Delay { get; set; } = (t, c) => { if (c.WaitHandle.WaitOne(t)) c.ThrowIfCancellationRequested(); };
    }

    /// <summary>What the server said about one stored object (STOW-RS response).</summary>
    public sealed class StoreOutcome
    {
        public string SopInstanceUid { get; set; } = "";
        public bool Stored { get; set; }
        public string? RetrieveUrl { get; set; }
        /// <summary>FailureReason (0008,1197) when the server refused the object.</summary>
        public int? FailureReason { get; set; }
        /// <summary>WarningReason (0008,1196) values, as "0xB000 (coercion of data elements)" text.</summary>
        public List<string> Warnings { get; } = new List<string>();
    }

    /// <summary>Search criteria for <see cref="DicomWebClient.Search"/>.</summary>
    public sealed class DicomWebQuery
    {
        public string? StudyInstanceUid { get; set; }
        public string? SeriesInstanceUid { get; set; }
        public string? PatientId { get; set; }
        /// <summary>Modalities; instances of any of them match (one query per modality).</summary>
        public IReadOnlyList<string>? Modality { get; set; }
        /// <summary>"yyyyMMdd" or "yyyyMMdd-yyyyMMdd".</summary>
        public string? StudyDate { get; set; }
        /// <summary>Most instances returned (0: all).</summary>
        public int Limit { get; set; }
        /// <summary>Also return instances that are not images (SR, PR, SEG...).</summary>
        public bool IncludeNonImage { get; set; }
        /// <summary>Instances asked for per QIDO request.</summary>
        public int PageSize { get; set; } = 100;
    }

    /// <summary>
    /// A DICOMweb client (PS3.18): QIDO-RS search of instances with paging, WADO-RS retrieval of instances in the transfer
    /// syntax the server has, STOW-RS storage with the response read. Requests that fail with 429, 502, 503 or 504, a
    /// dropped connection or a timeout are retried with exponential backoff (Retry-After honoured), a bounded number of
    /// times; 401 and 403 are never retried. Errors are <see cref="CxasException"/>s naming the request, never the credentials.
    /// Thread-safe: the segmentation queue retrieves on its own thread.
    /// </summary>
    public sealed class DicomWebClient : IDisposable
    {
        private const string DicomJsonType = "application/dicom+json";
        private static readonly string[] InstanceFields =
        {
            "00080016", "00080018", "00080020", "00080060", "0008103E", "00100020", "0020000D", "0020000E", "00200013", "00280010", "00280011",
        };

        private readonly DicomWebCredential? _credential;
        private readonly DicomWebOptions _options;
        private readonly HttpClientHandler _handler;
        private readonly HttpClient _client;

        public DicomWebClient(Uri root, DicomWebCredential? credential = null, DicomWebOptions? options = null)
        {
            if (root == null || !root.IsAbsoluteUri || (root.Scheme != Uri.UriSchemeHttp && root.Scheme != Uri.UriSchemeHttps))
                throw new CxasException(CxasErrorKind.InvalidArgument, $"'{root}' is not an http or https DICOMweb URL.");
            if (!string.IsNullOrEmpty(root.UserInfo))
                throw new CxasException(CxasErrorKind.InvalidArgument, "Credentials do not belong in the URL.", remedy: CxasRemedy.SeparateCredentials);
            _options = options ?? new DicomWebOptions();
            if (credential != null && root.Scheme == Uri.UriSchemeHttp && !_options.AllowUnencryptedAuthentication)
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"Refusing to send {credential.Scheme} credentials over unencrypted http to '{root}'.", remedy: CxasRemedy.AllowUnencrypted);
            Root = new Uri(root.AbsoluteUri.EndsWith("/", StringComparison.Ordinal) ? root.AbsoluteUri : root.AbsoluteUri + "/");
            _credential = credential;
            Cxas.IO.FrameworkTls.Ensure();
            _handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
            if (_options.SkipCertificateCheck) _handler.ServerCertificateCustomValidationCallback = (message, certificate, chain, errors) => true;
            if (_options.Proxy != null)
            {
                _handler.Proxy = _options.Proxy;
                _handler.UseProxy = true;
            }
            _client = new HttpClient(_handler, disposeHandler: false) { Timeout = _options.Timeout, MaxResponseContentBufferSize = ToInt(_options.MaxResponseBytes) };
            _client.DefaultRequestHeaders.UserAgent.ParseAdd("Cxas/0.1");
        }

        private static int ToInt(long n) => (int)Math.Min(int.MaxValue, Math.Max(1, n));

        /// <summary>The DICOMweb root, ending in '/'.</summary>
        public Uri Root { get; }

        public override string ToString() => Root + (_credential != null ? $" ({_credential})" : "");

        /// <summary>The WADO-RS URI of an instance.</summary>
        public string InstanceUri(string study, string series, string sop) =>
            $"{Root}studies/{Uri.EscapeDataString(study)}/series/{Uri.EscapeDataString(series)}/instances/{Uri.EscapeDataString(sop)}";

        // ---- QIDO-RS ----

        /// <summary>Instances matching <paramref name="query"/>, page by page (lazily), each SOP instance once.</summary>
        public IEnumerable<DicomInstance> Search(DicomWebQuery query, CancellationToken cancel = default)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            int returned = 0;
            var modalities = query.Modality == null || query.Modality.Count == 0 ? new string?[] { null } : query.Modality.Cast<string?>().ToArray();
            foreach (var modality in modalities)
            {
                int offset = 0;
                while (true)
                {
                    int page = Math.Max(1, query.PageSize);
                    var url = SearchUrl(query, modality, page, offset);
                    var items = GetJsonArray(url, "Search", cancel);
                    foreach (var item in items)
                    {
                        var instance = ToInstance(item);
                        if (instance == null || !seen.Add(instance.SopInstanceUid)) continue;
                        if (!query.IncludeNonImage && !instance.IsImage) continue;
                        yield return instance;
                        if (query.Limit > 0 && ++returned >= query.Limit) yield break;
                    }
                    if (items.Count < page) break;
                    offset += items.Count;
                }
            }
        }

        private Uri SearchUrl(DicomWebQuery q, string? modality, int limit, int offset)
        {
            var path = "instances";
            if (!string.IsNullOrEmpty(q.StudyInstanceUid))
                path = $"studies/{Uri.EscapeDataString(q.StudyInstanceUid!)}/" + (string.IsNullOrEmpty(q.SeriesInstanceUid)
                    ? "instances" : $"series/{Uri.EscapeDataString(q.SeriesInstanceUid!)}/instances");
            var args = new List<string>();
            void Add(string key, string? value) { if (!string.IsNullOrEmpty(value)) args.Add(key + "=" + Uri.EscapeDataString(value!)); }
            if (string.IsNullOrEmpty(q.StudyInstanceUid)) Add("SeriesInstanceUID", q.SeriesInstanceUid);
            Add("PatientID", q.PatientId);
            Add("Modality", modality);
            Add("StudyDate", q.StudyDate);
            foreach (var field in InstanceFields) args.Add("includefield=" + field);
            args.Add("limit=" + limit.ToString(CultureInfo.InvariantCulture));
            args.Add("offset=" + offset.ToString(CultureInfo.InvariantCulture));
            return new Uri(Root, path + "?" + string.Join("&", args));
        }

        private DicomInstance? ToInstance(JsonElement item)
        {
            var study = DicomJson.String(item, Tags.StudyInstanceUid);
            var series = DicomJson.String(item, Tags.SeriesInstanceUid);
            var sop = DicomJson.String(item, Tags.SopInstanceUid);
            if (study == null || series == null || sop == null) return null;
            return new DicomInstance
            {
                Uri = InstanceUri(study, series, sop),
                StudyInstanceUid = study, SeriesInstanceUid = series, SopInstanceUid = sop,
                SopClassUid = DicomJson.String(item, Tags.SopClassUid),
                PatientId = DicomJson.String(item, Tags.PatientId),
                Modality = DicomJson.String(item, Tags.Modality),
                StudyDate = DicomJson.String(item, Tags.StudyDate),
                SeriesDescription = DicomJson.String(item, Tags.SeriesDescription),
                InstanceNumber = DicomJson.Int(item, Tags.InstanceNumber),
                Rows = DicomJson.Int(item, Tags.Rows),
                Columns = DicomJson.Int(item, Tags.Columns),
                Client = this,
            };
        }

        /// <summary>Whether the server holds an instance with this SOP Instance UID in the study.</summary>
        public bool Exists(string study, string sopInstanceUid, CancellationToken cancel = default)
        {
            var url = new Uri(Root, $"studies/{Uri.EscapeDataString(study)}/instances?SOPInstanceUID={Uri.EscapeDataString(sopInstanceUid)}&includefield=00080018");
            return GetJsonArray(url, "Search", cancel).Any(i => DicomJson.String(i, Tags.SopInstanceUid) == sopInstanceUid);
        }

        private List<JsonElement> GetJsonArray(Uri url, string what, CancellationToken cancel)
        {
            using var response = Send(() =>
            {
                var r = new HttpRequestMessage(HttpMethod.Get, url);
                r.Headers.Accept.ParseAdd(DicomJsonType);
                r.Headers.Accept.ParseAdd("application/json");
                return r;
            }, what, url, cancel);
            if (response.StatusCode == HttpStatusCode.NoContent) return new List<JsonElement>();
            EnsureSuccess(response, what, url);
            var body = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            if (body.Length == 0) return new List<JsonElement>();
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind != JsonValueKind.Array)
                    throw new CxasException(CxasErrorKind.InvalidData, $"{what} '{url}': the server's answer is not a DICOM JSON array.", url.ToString());
                return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
            }
            catch (JsonException ex)
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"{what} '{url}': the server's answer is not valid JSON ({ex.Message}).", url.ToString(), ex);
            }
        }

        // ---- WADO-RS ----

        /// <summary>Retrieves one instance as a DICOM Part 10 object, in whatever transfer syntax the server stores it.</summary>
        public byte[] Retrieve(DicomInstance instance, CancellationToken cancel = default)
        {
            var url = new Uri(instance.Uri);
            // Ask for the stored transfer syntax (no transcoding); a server that refuses '*' is asked for its default.
            HttpResponseMessage response = Send(() => RetrieveRequest(url, true), "Retrieve", url, cancel);
            if (response.StatusCode == HttpStatusCode.NotAcceptable || response.StatusCode == HttpStatusCode.BadRequest)
            {
                response.Dispose();
                Log($"'{url}': the server refused transfer-syntax=*; asking for its default transfer syntax.");
                response = Send(() => RetrieveRequest(url, false), "Retrieve", url, cancel);
            }
            using (response)
            {
                EnsureSuccess(response, "Retrieve", url);
                var body = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
                var contentType = response.Content.Headers.ContentType?.ToString();
                var boundary = Multipart.Boundary(contentType);
                if (boundary == null)
                {
                    if (contentType != null && contentType.StartsWith("application/dicom", StringComparison.OrdinalIgnoreCase)) return body;
                    throw new CxasException(CxasErrorKind.InvalidData, $"Retrieve '{url}': the server answered {contentType ?? "without a content type"}, not multipart/related DICOM.", url.ToString());
                }
                var parts = Multipart.Parse(body, boundary);
                var part = parts.FirstOrDefault(p => p.ContentType == null || p.ContentType.StartsWith("application/dicom", StringComparison.OrdinalIgnoreCase));
                if (part == null || part.Body.Length == 0)
                    throw new CxasException(CxasErrorKind.InvalidData, $"Retrieve '{url}': the response holds no DICOM object.", url.ToString());
                return part.Body;
            }
        }

        private static HttpRequestMessage RetrieveRequest(Uri url, bool anyTransferSyntax)
        {
            var r = new HttpRequestMessage(HttpMethod.Get, url);
            r.Headers.TryAddWithoutValidation("Accept", anyTransferSyntax
                ? "multipart/related; type=\"application/dicom\"; transfer-syntax=*"
                : "multipart/related; type=\"application/dicom\"");
            return r;
        }

        /// <summary>Retrieves and decodes an instance from memory (the segmentation queue's decode step).</summary>
        public SourceImage LoadImage(DicomInstance instance, CancellationToken cancel = default)
        {
            var bytes = Retrieve(instance, cancel);
            var image = new Cxas.Dicom.DicomImageReader().Read(instance.Uri, bytes);
            if (image.Info.SopInstanceUid != null && image.Info.SopInstanceUid != instance.SopInstanceUid)
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"'{instance.Uri}': the server returned SOP instance {image.Info.SopInstanceUid}, not the one asked for.", instance.Uri);
            return image;
        }

        // ---- STOW-RS ----

        /// <summary>Stores one DICOM Part 10 object and reads the server's answer about it.</summary>
        public StoreOutcome Store(byte[] dicom, string sopInstanceUid, CancellationToken cancel = default)
        {
            var url = new Uri(Root, "studies");
            var (body, boundary) = Multipart.Build(new[] { dicom });
            using var response = Send(() =>
            {
                var r = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                r.Content.Headers.TryAddWithoutValidation("Content-Type", $"multipart/related; type=\"application/dicom\"; boundary={boundary}");
                r.Headers.Accept.ParseAdd(DicomJsonType);
                r.Headers.Accept.ParseAdd("application/json");
                return r;
            }, "Store", url, cancel);
            var text = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            var outcome = new StoreOutcome { SopInstanceUid = sopInstanceUid };
            if (text.Length > 0)
            {
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    var root = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0 ? doc.RootElement[0] : doc.RootElement;
                    if (root.ValueKind == JsonValueKind.Object) ReadStoreResponse(root, outcome);
                }
                catch (JsonException) { } // not a DICOM JSON answer: the status code decides
            }
            // A FailedSOPSequence entry or a ReferencedSOPSequence entry for the object decides; otherwise the status does.
            if (outcome.FailureReason != null || outcome.Stored) return outcome;
            EnsureSuccess(response, "Store", url);
            outcome.Stored = true;
            return outcome;
        }

        private static void ReadStoreResponse(JsonElement root, StoreOutcome outcome)
        {
            foreach (var item in DicomJson.Items(root, Tags.FailedSopSequence))
                if (DicomJson.String(item, Tags.ReferencedSopInstanceUid) == outcome.SopInstanceUid || outcome.FailureReason == null)
                    outcome.FailureReason = DicomJson.Int(item, Tags.FailureReason) ?? 0xC000;
            foreach (var item in DicomJson.Items(root, Tags.ReferencedSopSequence))
            {
                if (DicomJson.String(item, Tags.ReferencedSopInstanceUid) != outcome.SopInstanceUid) continue;
                outcome.Stored = true;
                outcome.RetrieveUrl = DicomJson.String(item, Tags.RetrieveUrl);
                var warning = DicomJson.Int(item, Tags.WarningReason);
                if (warning != null) outcome.Warnings.Add(DescribeStatus(warning.Value));
            }
            var overall = DicomJson.Int(root, Tags.WarningReason);
            if (overall != null) outcome.Warnings.Add(DescribeStatus(overall.Value));
        }

        /// <summary>A STOW-RS failure or warning reason as text.</summary>
        public static string DescribeStatus(int code)
        {
            string meaning;
            switch (code)
            {
                case 0xA700: meaning = "out of resources"; break;
                case 0xA900: meaning = "data set does not match SOP class"; break;
                case 0xC000: meaning = "cannot understand"; break;
                case 0xC122: meaning = "referenced transfer syntax not supported"; break;
                case 0x0110: meaning = "processing failure"; break;
                case 0x0122: meaning = "referenced SOP class not supported"; break;
                case 0x0111: meaning = "duplicate SOP instance"; break;
                case 0xB000: meaning = "coercion of data elements"; break;
                case 0xB006: meaning = "elements discarded"; break;
                case 0xB007: meaning = "data set does not match SOP class"; break;
                default: meaning = "status"; break;
            }
            return $"0x{code:X4} ({meaning})";
        }

        // ---- HTTP with retries ----

        private void Log(string message) => _options.Log?.Invoke(message);

        private static bool IsTransient(HttpStatusCode status) =>
            (int)status == 429 || status == HttpStatusCode.BadGateway || status == HttpStatusCode.ServiceUnavailable || status == HttpStatusCode.GatewayTimeout;

        /// <summary>Sends a request (built afresh for each attempt), retrying transient failures; 401/403 throw at once.</summary>
        internal HttpResponseMessage Send(Func<HttpRequestMessage> make, string what, Uri url, CancellationToken cancel)
        {
            int attempts = Math.Max(1, _options.MaxAttempts);
            for (int attempt = 1; ; attempt++)
            {
                cancel.ThrowIfCancellationRequested();
                string problem;
                TimeSpan? retryAfter = null;
                using (var request = make())
                {
                    if (_credential != null) request.Headers.Authorization = _credential.Header();
                    HttpResponseMessage? response = null;
                    try
                    {
                        response = _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancel).GetAwaiter().GetResult();
                    }
                    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (OperationCanceledException)
                    {
                        problem = $"no answer within {_options.Timeout.TotalSeconds:0.#} s";
                        goto Retry;
                    }
                    catch (HttpRequestException ex) when (IsCertificateFailure(ex))
                    {
                        // A certificate that is not trusted stays untrusted: no retry.
                        throw new CxasException(CxasErrorKind.Network,
                            $"{what} '{url}': the server's TLS certificate is not trusted ({Innermost(ex)}).", url.ToString(), ex, CxasRemedy.TrustCertificate);
                    }
                    catch (HttpRequestException ex)
                    {
                        problem = "the connection failed (" + Innermost(ex) + ")";
                        goto Retry;
                    }
                    catch (System.IO.IOException ex)
                    {
                        problem = "the connection broke off (" + ex.Message + ")";
                        goto Retry;
                    }
                    int code = (int)response.StatusCode;
                    if (code == 401 || code == 403)
                    {
                        response.Dispose();
                        throw new CxasException(CxasErrorKind.Unauthorized,
                            $"{what} '{url}': the server refused the request with HTTP {code} {(code == 401 ? "Unauthorized: check the credentials" : "Forbidden: the account may not do this")}.",
                            url.ToString());
                    }
                    if (!IsTransient(response.StatusCode)) return response;
                    problem = $"HTTP {code} {response.ReasonPhrase}";
                    retryAfter = RetryAfter(response);
                    response.Dispose();
                }
            Retry:
                if (attempt >= attempts)
                    throw new CxasException(CxasErrorKind.Network, $"{what} '{url}' failed after {attempts} attempt(s): {problem}.", url.ToString());
                var backoff = TimeSpan.FromTicks(_options.BaseDelay.Ticks * (1L << Math.Min(attempt - 1, 20)));
                var wait = retryAfter ?? backoff;
                if (wait > _options.MaxDelay)
                {
                    if (retryAfter != null)
                        throw new CxasException(CxasErrorKind.Network,
                            $"{what} '{url}': {problem}, and the server asks to wait {retryAfter.Value.TotalSeconds:0} s, longer than the {_options.MaxDelay.TotalSeconds:0} s allowed.", url.ToString());
                    wait = _options.MaxDelay;
                }
                Log($"{what} '{url}': {problem}; attempt {attempt + 1} of {attempts} in {wait.TotalSeconds:0.##} s.");
                _options.Delay(wait, cancel);
            }
        }

        private static bool IsCertificateFailure(Exception ex)
        {
            for (var e = ex; e != null; e = e.InnerException)
                if (e is System.Security.Authentication.AuthenticationException) return true;
            return false;
        }

        private static string Innermost(Exception ex)
        {
            while (ex.InnerException != null) ex = ex.InnerException;
            return ex.Message;
        }

        private static TimeSpan? RetryAfter(HttpResponseMessage response)
        {
            var header = response.Headers.RetryAfter;
            if (header == null) return null;
            if (header.Delta != null) return header.Delta.Value < TimeSpan.Zero ? TimeSpan.Zero : header.Delta.Value;
            if (header.Date != null)
            {
                var d = header.Date.Value - DateTimeOffset.UtcNow;
                return d < TimeSpan.Zero ? TimeSpan.Zero : d;
            }
            return null;
        }

        private static void EnsureSuccess(HttpResponseMessage response, string what, Uri url)
        {
            int code = (int)response.StatusCode;
            if (code >= 200 && code < 300) return;
            var kind = code == 404 ? CxasErrorKind.NotFound : code >= 500 ? CxasErrorKind.Network : CxasErrorKind.InvalidData;
            throw new CxasException(kind, $"{what} '{url}': the server answered HTTP {code} {response.ReasonPhrase}.", url.ToString());
        }

        public void Dispose()
        {
            _client.Dispose();
            _handler.Dispose();
        }
    }
}
