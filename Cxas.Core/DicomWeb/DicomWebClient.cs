using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using Cxas.Dicom;
using Cxas.Imaging;
using Cxas.IO;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// A DICOMweb client (PS3.18): QIDO-RS search of instances with paging, WADO-RS retrieval of instances in the transfer
    /// syntax the server has, STOW-RS storage with the response read. Requests that fail with 429, 502, 503 or 504, a
    /// dropped connection or a timeout are retried with exponential backoff (Retry-After honoured), a bounded number of
    /// times; 401 and 403 are never retried. Every body is read into memory under a bound (<see cref="DicomWebOptions.MaxJsonBytes"/>,
    /// <see cref="DicomWebOptions.MaxResponseBytes"/>) and the timeout covers it; paging stops at a page that brings no new
    /// instance and after <see cref="DicomWebOptions.MaxPages"/>; text from the server is cleaned before it reaches a message
    /// (<see cref="PeerText"/>). Errors are <see cref="CxasException"/>s naming the request, never the credentials.
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
            // The timeout is applied per attempt by Send, over the headers and the body both.
            _client = new HttpClient(_handler, disposeHandler: false) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            _client.DefaultRequestHeaders.UserAgent.ParseAdd("Cxas/0.1");
        }

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
            int returned = 0, pages = 0;
            var modalities = query.Modality == null || query.Modality.Count == 0 ? new string?[] { null } : query.Modality.Cast<string?>().ToArray();
            foreach (var modality in modalities)
            {
                int offset = 0;
                while (true)
                {
                    int page = Math.Max(1, query.PageSize);
                    var url = SearchUrl(query, modality, page, offset);
                    if (++pages > Math.Max(1, _options.MaxPages))
                        throw new CxasException(CxasErrorKind.LimitExceeded,
                            $"Search '{url}': more than {_options.MaxPages} pages of results; narrow the search.", url.ToString());
                    var items = GetJsonArray(url, "Search", cancel);
                    int fresh = 0;
                    foreach (var item in items)
                    {
                        var instance = ToInstance(item);
                        if (instance == null || !seen.Add(instance.SopInstanceUid)) continue;
                        fresh++;
                        if (!query.IncludeNonImage && !instance.IsImage) continue;
                        yield return instance;
                        if (query.Limit > 0 && ++returned >= query.Limit) yield break;
                    }
                    if (items.Count < page) break;
                    // A full page of instances already seen: the server ignores offset (or repeats itself); asking again
                    // would bring the same page forever.
                    if (fresh == 0)
                    {
                        Log($"Search '{url}': a full page brought no instance not seen before (the server ignores 'offset'?): paging stops here.");
                        break;
                    }
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
            }, what, url, _options.MaxJsonBytes, cancel);
            if (response.StatusCode == HttpStatusCode.NoContent) return new List<JsonElement>();
            EnsureSuccess(response, what, url);
            var body = response.Body;
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
                throw new CxasException(CxasErrorKind.InvalidData, $"{what} '{url}': the server's answer is not valid JSON ({PeerText.Clean(ex.Message)}).", url.ToString(), ex);
            }
        }

        // ---- WADO-RS ----

        /// <summary>Retrieves one instance as a DICOM Part 10 object, in whatever transfer syntax the server stores it.</summary>
        public byte[] Retrieve(DicomInstance instance, CancellationToken cancel = default)
        {
            var url = new Uri(instance.Uri);
            // Ask for the stored transfer syntax (no transcoding); a server that refuses '*' is asked for its default.
            var response = Send(() => RetrieveRequest(url, true), "Retrieve", url, _options.MaxResponseBytes, cancel);
            if (response.StatusCode == HttpStatusCode.NotAcceptable || response.StatusCode == HttpStatusCode.BadRequest)
            {
                response.Dispose();
                Log($"'{url}': the server refused transfer-syntax=*; asking for its default transfer syntax.");
                response = Send(() => RetrieveRequest(url, false), "Retrieve", url, _options.MaxResponseBytes, cancel);
            }
            using (response)
            {
                EnsureSuccess(response, "Retrieve", url);
                var body = response.Body;
                var contentType = response.ContentType;
                var boundary = Multipart.Boundary(contentType);
                if (boundary == null)
                {
                    if (contentType != null && contentType.StartsWith("application/dicom", StringComparison.OrdinalIgnoreCase)) return body;
                    throw new CxasException(CxasErrorKind.InvalidData,
                        $"Retrieve '{url}': the server answered {(contentType == null ? "without a content type" : PeerText.Clean(contentType))}, not multipart/related DICOM.", url.ToString());
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

        /// <summary>Retrieves and decodes an instance from memory with the default readers.</summary>
        public SourceImage LoadImage(DicomInstance instance, CancellationToken cancel = default) =>
            LoadImage(instance, ImageReaderConfiguration.Default, cancel);

        /// <summary>
        /// Retrieves an instance and decodes it from memory with the DICOM reader of <paramref name="readers"/> (its frame
        /// decoders and limits): the segmentation queue's decode step, with the run's configuration.
        /// </summary>
        public SourceImage LoadImage(DicomInstance instance, ImageReaderConfiguration readers, CancellationToken cancel = default)
        {
            var reader = Cxas.Dicom.DicomImageReader.Of(readers, instance.Uri);
            var bytes = Retrieve(instance, cancel);
            var image = reader.Read(instance.Uri, bytes, readers.Options);
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
            }, "Store", url, _options.MaxJsonBytes, cancel);
            var text = response.Body;
            var outcome = new StoreOutcome { SopInstanceUid = sopInstanceUid };
            if (text.Length > 0)
            {
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    var root = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() > 0 ? doc.RootElement[0] : doc.RootElement;
                    if (root.ValueKind == JsonValueKind.Object) ReadStoreResponse(root, outcome);
                }
                catch (JsonException ex)
                {
                    // A failure status says enough by itself; a success whose DICOM JSON is broken cannot be trusted to mean stored.
                    bool json = (response.ContentType ?? "").IndexOf("json", StringComparison.OrdinalIgnoreCase) >= 0;
                    if (json && (int)response.StatusCode >= 200 && (int)response.StatusCode < 300)
                        throw new CxasException(CxasErrorKind.InvalidData,
                            $"Store '{url}': the server answered HTTP {(int)response.StatusCode} with a STOW-RS response that is not valid JSON " +
                            $"({PeerText.Clean(ex.Message)}): whether SOP instance {sopInstanceUid} was stored is unknown.", url.ToString(), ex);
                }
            }
            // A FailedSOPSequence entry or a ReferencedSOPSequence entry for the object decides; otherwise the status does.
            if (outcome.FailureReason != null || outcome.Stored) return outcome;
            EnsureSuccess(response, "Store", url);
            outcome.Stored = true;
            return outcome;
        }

        /// <summary>ErrorComment (0000,0902), which some servers put in a FailedSOPSequence item.</summary>
        private const uint ErrorComment = 0x00000902;

        private static void ReadStoreResponse(JsonElement root, StoreOutcome outcome)
        {
            foreach (var item in DicomJson.Items(root, Tags.FailedSopSequence))
                if (DicomJson.String(item, Tags.ReferencedSopInstanceUid) == outcome.SopInstanceUid || outcome.FailureReason == null)
                {
                    outcome.FailureReason = DicomJson.Int(item, Tags.FailureReason) ?? 0xC000;
                    var comment = DicomJson.String(item, ErrorComment);
                    outcome.FailureComment = string.IsNullOrWhiteSpace(comment) ? null : PeerText.Clean(comment);
                }
            foreach (var item in DicomJson.Items(root, Tags.ReferencedSopSequence))
            {
                if (DicomJson.String(item, Tags.ReferencedSopInstanceUid) != outcome.SopInstanceUid) continue;
                outcome.Stored = true;
                var retrieveUrl = DicomJson.String(item, Tags.RetrieveUrl);
                outcome.RetrieveUrl = retrieveUrl == null ? null : PeerText.Clean(retrieveUrl, 2000);
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

        // A message belongs to the client that made it: to its options' Log, else to its own queue, never to anything
        // shared, so two clients (two cmdlets, two runspaces) never see each other's messages.
        private readonly ClientMessages _messages = new ClientMessages();

        private void Log(string message)
        {
            if (_options.Log != null) _options.Log(message);
            else _messages.Add(message);
        }

        /// <summary>Empties this client's queue of messages (the last 1000 at most), oldest first; any thread may call it.</summary>
        public IReadOnlyList<string> TakeMessages() => _messages.Take();

        private static bool IsTransient(HttpStatusCode status) =>
            (int)status == 429 || status == HttpStatusCode.BadGateway || status == HttpStatusCode.ServiceUnavailable || status == HttpStatusCode.GatewayTimeout;

        /// <summary>
        /// Sends a request (built afresh for each attempt) and reads its body under <paramref name="maxBody"/>, retrying
        /// transient failures (a body that breaks off included); 401/403 and a body over the bound throw at once.
        /// </summary>
        internal Answer Send(Func<HttpRequestMessage> make, string what, Uri url, long maxBody, CancellationToken cancel)
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
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                    timeout.CancelAfter(_options.Timeout);
                    HttpResponseMessage? response = null;
                    try
                    {
                        response = _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).GetAwaiter().GetResult();
                        int status = (int)response.StatusCode;
                        if (status != 401 && status != 403 && !IsTransient(response.StatusCode))
                            return new Answer(response, ResponseBody.Read(response, maxBody, what, url, timeout.Token));
                    }
                    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                    {
                        response?.Dispose();
                        throw;
                    }
                    catch (OperationCanceledException)
                    {
                        response?.Dispose();
                        problem = $"no whole answer within {_options.Timeout.TotalSeconds:0.#} s";
                        goto Retry;
                    }
                    catch (CxasException)
                    {
                        response?.Dispose();
                        throw;
                    }
                    catch (HttpRequestException ex) when (IsCertificateFailure(ex))
                    {
                        // A certificate that is not trusted stays untrusted: no retry.
                        throw new CxasException(CxasErrorKind.Network,
                            $"{what} '{url}': the server's TLS certificate is not trusted ({Innermost(ex)}).", url.ToString(), ex, CxasRemedy.TrustCertificate);
                    }
                    catch (HttpRequestException ex)
                    {
                        response?.Dispose();
                        problem = "the connection failed (" + PeerText.Clean(Innermost(ex)) + ")";
                        goto Retry;
                    }
                    catch (System.IO.IOException ex)
                    {
                        response?.Dispose();
                        problem = "the connection broke off (" + PeerText.Clean(ex.Message) + ")";
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
                    problem = $"HTTP {code} {PeerText.Clean(response.ReasonPhrase)}";
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

        private static void EnsureSuccess(Answer answer, string what, Uri url)
        {
            var response = answer.Response;
            int code = (int)response.StatusCode;
            if (code >= 200 && code < 300) return;
            var kind = code == 404 ? CxasErrorKind.NotFound : code >= 500 ? CxasErrorKind.Network : CxasErrorKind.InvalidData;
            throw new CxasException(kind, $"{what} '{url}': the server answered HTTP {code} {PeerText.Clean(response.ReasonPhrase)}.", url.ToString());
        }

        public void Dispose()
        {
            _client.Dispose();
            _handler.Dispose();
        }
    }
}
