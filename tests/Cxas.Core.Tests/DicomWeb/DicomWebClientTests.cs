using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using Cxas.Core.Tests.Dicom;
using Cxas.Core.Tests.Install;
using Cxas.Dicom;
using Cxas.Dicom.Seg;
using Cxas.DicomWeb;

namespace Cxas.Core.Tests.DicomWeb
{
    /// <summary>
    /// The DICOMweb client against a loopback HTTP server that plays the faults of a real PACS (429/503 with Retry-After,
    /// 502/504, dropped connections, 401), and its pure parts: multipart, STOW responses, derived UIDs. The round trip against
    /// a real Orthanc is in tests/Pester/Pacs.Tests.ps1.
    /// </summary>
    public sealed class DicomWebClientTests : IDisposable
    {
        private const string Password = "s3cret-pw-Zq9";
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "cxas-dicomweb-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        private readonly List<TimeSpan> _waits = new List<TimeSpan>();

        public DicomWebClientTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private DicomWebClient Client(LoopbackHttpServer server, int attempts = 4, DicomWebCredential? credential = null) =>
            new DicomWebClient(server.Url("/dicom-web"), credential ?? DicomWebCredential.Basic("cxas", Password), new DicomWebOptions
            {
                AllowUnencryptedAuthentication = true, MaxAttempts = attempts, Timeout = TimeSpan.FromSeconds(10),
                Delay = (t, c) => { lock (_waits) _waits.Add(t); },
            });

        private static LoopbackHttpServer.Response Json(string json, int status = 200) =>
            new LoopbackHttpServer.Response { Status = status, Reason = status == 200 ? "OK" : "Status", ContentType = "application/dicom+json", Body = Encoding.UTF8.GetBytes(json) };

        private static LoopbackHttpServer.Response Fault(int status, string? retryAfter = null)
        {
            var r = new LoopbackHttpServer.Response { Status = status, Reason = "Fault", ContentType = "text/plain", Body = Encoding.ASCII.GetBytes("busy") };
            if (retryAfter != null) r.Headers.Add(new KeyValuePair<string, string>("Retry-After", retryAfter));
            return r;
        }

        private static string InstanceJson(int i, string modality = "CR") =>
            "{\"0020000D\":{\"vr\":\"UI\",\"Value\":[\"1.2.3\"]},\"0020000E\":{\"vr\":\"UI\",\"Value\":[\"1.2.3.4\"]}," +
            $"\"00080018\":{{\"vr\":\"UI\",\"Value\":[\"1.2.3.4.{i}\"]}},\"00080060\":{{\"vr\":\"CS\",\"Value\":[\"{modality}\"]}}," +
            "\"00100020\":{\"vr\":\"LO\",\"Value\":[\"P1\"]},\"00280010\":{\"vr\":\"US\",\"Value\":[96]},\"00280011\":{\"vr\":\"US\",\"Value\":[128]}," +
            "\"00100010\":{\"vr\":\"PN\",\"Value\":[{\"Alphabetic\":\"Doe^J\"}]}}";

        [Fact]
        public void RetriesServiceUnavailableHonouringRetryAfter()
        {
            int n = 0;
            using var server = new LoopbackHttpServer(r => ++n <= 2 ? Fault(503, "2") : Json("[]"));
            using var client = Client(server);
            Assert.Empty(client.Search(new DicomWebQuery()));
            Assert.Equal(3, server.Log.Count);
            Assert.Equal(new[] { TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2) }, _waits);
        }

        /// <summary>
        /// A client's messages (here its retries) belong to it: two clients of two servers, used one after the other and
        /// then together, each hand back exactly their own, and nothing is left for the other to take.
        /// </summary>
        [Fact]
        public void EachClientKeepsItsOwnMessages()
        {
            int a = 0, b = 0;
            using var serverA = new LoopbackHttpServer(r => Interlocked.Increment(ref a) <= 1 ? Fault(503) : Json("[]"));
            using var serverB = new LoopbackHttpServer(r => Interlocked.Increment(ref b) <= 2 ? Fault(502) : Json("[]"));
            using var clientA = Client(serverA);
            using var clientB = Client(serverB);
            Assert.Empty(clientA.Search(new DicomWebQuery()));
            Assert.Empty(clientB.Search(new DicomWebQuery()));

            var fromA = clientA.TakeMessages();
            var fromB = clientB.TakeMessages();
            Assert.Single(fromA);
            Assert.Equal(2, fromB.Count);
            Assert.All(fromA, m => Assert.Contains(serverA.Url("/dicom-web").Authority, m));
            Assert.All(fromB, m => Assert.Contains(serverB.Url("/dicom-web").Authority, m));
            Assert.Empty(clientA.TakeMessages());
            Assert.Empty(clientB.TakeMessages());
        }

        [Fact]
        public void RetriesTooManyRequestsAndGatewayErrorsWithExponentialBackoff()
        {
            int n = 0;
            var faults = new[] { 429, 502, 504 };
            using var server = new LoopbackHttpServer(r => n < 3 ? Fault(faults[n++]) : Json("[" + InstanceJson(1) + "]"));
            using var client = Client(server);
            Assert.Single(client.Search(new DicomWebQuery()));
            Assert.Equal(new[] { 0.5, 1.0, 2.0 }, _waits.Select(w => w.TotalSeconds));
        }

        [Fact]
        public void GivesUpAfterTheBoundedNumberOfAttempts()
        {
            using var server = new LoopbackHttpServer(r => Fault(503));
            using var client = Client(server, attempts: 3);
            var ex = Assert.Throws<CxasException>(() => client.Search(new DicomWebQuery()).ToList());
            Assert.Equal(CxasErrorKind.Network, ex.Kind);
            Assert.Contains("3 attempt", ex.Message);
            Assert.Equal(3, server.Log.Count);
        }

        [Fact]
        public void ARetryAfterBeyondTheLimitEndsTheRetries()
        {
            using var server = new LoopbackHttpServer(r => Fault(429, "3600"));
            using var client = Client(server);
            var ex = Assert.Throws<CxasException>(() => client.Search(new DicomWebQuery()).ToList());
            Assert.Equal(CxasErrorKind.Network, ex.Kind);
            Assert.Single(server.Log);
            Assert.Empty(_waits);
        }

        [Fact]
        public void RetriesADroppedConnection()
        {
            int n = 0;
            var body = Encoding.UTF8.GetBytes("[" + InstanceJson(1) + "]");
            using var server = new LoopbackHttpServer(r => ++n == 1
                ? new LoopbackHttpServer.Response { ContentType = "application/dicom+json", Body = body, DropAfter = 10 }
                : Json("[" + InstanceJson(1) + "]"));
            using var client = Client(server);
            Assert.Single(client.Search(new DicomWebQuery()));
            Assert.Equal(2, server.Log.Count);
        }

        [Fact]
        public void RetriesARefusedConnectionThenFailsNamingTheRequest()
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var url = new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/dicom-web");
            listener.Stop(); // nothing listens there now
            using var client = new DicomWebClient(url, null, new DicomWebOptions { MaxAttempts = 2, Delay = (t, c) => _waits.Add(t) });
            var ex = Assert.Throws<CxasException>(() => client.Search(new DicomWebQuery()).ToList());
            Assert.Equal(CxasErrorKind.Network, ex.Kind);
            Assert.Contains(url.ToString(), ex.Message);
            Assert.Single(_waits);
        }

        [Fact]
        public void RetriesATimeoutThenFailsNamingIt()
        {
            int n = 0;
            using var server = new LoopbackHttpServer(r => { if (Interlocked.Increment(ref n) == 1) Thread.Sleep(3000); return Json("[]"); });
            using var slow = new DicomWebClient(server.Url("/dicom-web"), null, new DicomWebOptions
            {
                Timeout = TimeSpan.FromSeconds(1), MaxAttempts = 2, Delay = (t, c) => { lock (_waits) _waits.Add(t); },
            });
            Assert.Empty(slow.Search(new DicomWebQuery()));
            Assert.Equal(2, server.Log.Count);
            Assert.Single(_waits);
        }

        [Theory]
        [InlineData(401)]
        [InlineData(403)]
        public void RefusedCredentialsAreOneErrorWithoutRetryAndWithoutTheSecret(int status)
        {
            using var server = new LoopbackHttpServer(r => Fault(status));
            using var client = Client(server);
            var ex = Assert.Throws<CxasException>(() => client.Search(new DicomWebQuery()).ToList());
            Assert.Equal(CxasErrorKind.Unauthorized, ex.Kind);
            Assert.Single(server.Log);
            Assert.Empty(_waits);
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("cxas:" + Password));
            foreach (var text in new[] { ex.ToString(), client.ToString(), DicomWebCredential.Basic("cxas", Password).ToString() })
            {
                Assert.DoesNotContain(Password, text);
                Assert.DoesNotContain(basic, text);
            }
            Assert.Equal("Basic " + basic, server.Log[0].Header("Authorization"));
        }

        [Fact]
        public void RefusesCredentialsOverPlainHttpUnlessAllowed()
        {
            var http = new Uri("http://127.0.0.1:9/dicom-web");
            var basic = Assert.Throws<CxasException>(() => new DicomWebClient(http, DicomWebCredential.Basic("u", Password)));
            Assert.Equal(CxasErrorKind.InvalidArgument, basic.Kind);
            Assert.DoesNotContain(Password, basic.Message);
            Assert.Throws<CxasException>(() => new DicomWebClient(http, DicomWebCredential.Bearer("tok-" + Password)));
            new DicomWebClient(http, DicomWebCredential.Basic("u", Password), new DicomWebOptions { AllowUnencryptedAuthentication = true }).Dispose();
            new DicomWebClient(http).Dispose();
            new DicomWebClient(new Uri("https://127.0.0.1:9/dicom-web"), DicomWebCredential.Basic("u", Password)).Dispose();
            Assert.Throws<CxasException>(() => new DicomWebClient(new Uri("http://u:p@127.0.0.1:9/")));
            Assert.Equal("Bearer (redacted)", DicomWebCredential.Bearer("tok-" + Password).ToString());
        }

        [Fact]
        public void SearchPagesWithLimitAndOffsetAndSkipsNonImages()
        {
            var all = Enumerable.Range(0, 7).Select(i => InstanceJson(i, i == 2 ? "SR" : "DX")).ToArray();
            using var server = new LoopbackHttpServer(r =>
            {
                int limit = int.Parse(r.QueryValue("limit")!), offset = int.Parse(r.QueryValue("offset")!);
                return Json("[" + string.Join(",", all.Skip(offset).Take(limit)) + "]");
            });
            using var client = Client(server);
            var found = client.Search(new DicomWebQuery { PageSize = 3, Modality = new[] { "DX" } }).ToList();
            Assert.Equal(6, found.Count);
            Assert.DoesNotContain(found, f => f.Modality == "SR");
            Assert.Equal(new[] { "0", "3", "6" }, server.Log.Select(r => r.QueryValue("offset")));
            Assert.All(server.Log, r => Assert.Equal("DX", r.QueryValue("Modality")));
            var first = found[0];
            Assert.Equal(server.BaseUrl + "/dicom-web/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.0", first.Uri);
            Assert.Equal((96, 128, "P1"), (first.Rows!.Value, first.Columns!.Value, first.PatientId!));
            Assert.Equal(7, client.Search(new DicomWebQuery { PageSize = 3, IncludeNonImage = true }).Count());
            Assert.Equal(4, client.Search(new DicomWebQuery { PageSize = 3, Limit = 4 }).Count());
        }

        [Fact]
        public void RetrievesTheStoredTransferSyntaxAndDecodesFromMemory()
        {
            var file = Path.Combine(_dir, "cr.dcm");
            var o = new SyntheticDicom.Options { Study = "1.2.3", Series = "1.2.3.4", Instance = "1.2.3.4.0" };
            SyntheticDicom.Write(file, SyntheticDicom.Image(o.Rows, o.Columns, 12, 7), o);
            var (body, boundary) = Multipart.Build(new[] { File.ReadAllBytes(file) });
            int n = 0;
            using var server = new LoopbackHttpServer(r => r.Path.Contains("/instances/")
                ? (++n == 1 ? Fault(406) : new LoopbackHttpServer.Response { ContentType = $"multipart/related; type=\"application/dicom\"; boundary={boundary}", Body = body })
                : Json("[" + InstanceJson(0) + "]"));
            using var client = Client(server);
            var instance = client.Search(new DicomWebQuery()).Single();
            var image = client.LoadImage(instance);
            Assert.Equal((128, 96), (image.Width, image.Height));
            Assert.Equal(instance.Uri, image.Info.Path);
            Assert.Equal("1.2.3.4.0", image.Info.SopInstanceUid);
            Assert.Equal("1.2.3.4.0", image.Info.Dicom?.SopInstanceUid);
            var retrievals = server.Log.Where(r => r.Path.Contains("/instances/")).ToList();
            Assert.Contains("transfer-syntax=*", retrievals[0].Header("Accept"));
            Assert.DoesNotContain("transfer-syntax", retrievals[1].Header("Accept"));
        }

        [Fact]
        public void MultipartRoundTripsAndRefusesATruncatedBody()
        {
            var a = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
            var b = Encoding.ASCII.GetBytes("\r\n--not-the-boundary\r\n");
            var (body, boundary) = Multipart.Build(new[] { a, b });
            var parts = Multipart.Parse(body, boundary);
            Assert.Equal(2, parts.Count);
            Assert.Equal(a, parts[0].Body);
            Assert.Equal(b, parts[1].Body);
            Assert.Equal("application/dicom", parts[0].ContentType);
            Assert.Equal(boundary, Multipart.Boundary($"multipart/related; type=\"application/dicom\"; boundary=\"{boundary}\""));
            var ex = Assert.Throws<CxasException>(() => Multipart.Parse(body.Take(body.Length - 20).ToArray(), boundary));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
        }

        [Fact]
        public void StoreSendsOneObjectAndReadsTheStowResponse()
        {
            var seg = Encoding.ASCII.GetBytes("not really DICOM, the server does not care");
            string failed = "{\"00081198\":{\"vr\":\"SQ\",\"Value\":[{\"00081150\":{\"vr\":\"UI\",\"Value\":[\"1.2.840.10008.5.1.4.1.1.66.4\"]}," +
                            "\"00081155\":{\"vr\":\"UI\",\"Value\":[\"2.25.1\"]},\"00081197\":{\"vr\":\"US\",\"Value\":[43264]}}]}}";
            string stored = "{\"00081199\":{\"vr\":\"SQ\",\"Value\":[{\"00081155\":{\"vr\":\"UI\",\"Value\":[\"2.25.1\"]}," +
                            "\"00081190\":{\"vr\":\"UR\",\"Value\":[\"http://x/studies/1/series/2/instances/2.25.1\"]},\"00081196\":{\"vr\":\"US\",\"Value\":[45056]}}]}}";
            int n = 0;
            using var server = new LoopbackHttpServer(r => ++n == 1 ? Json(failed, 409) : Json(stored));
            using var client = Client(server);
            var refused = client.Store(seg, "2.25.1");
            Assert.False(refused.Stored);
            Assert.Equal(0xA900, refused.FailureReason);
            var ok = client.Store(seg, "2.25.1");
            Assert.True(ok.Stored);
            Assert.Equal("http://x/studies/1/series/2/instances/2.25.1", ok.RetrieveUrl);
            Assert.Equal(new[] { "0xB000 (coercion of data elements)" }, ok.Warnings);
            var post = server.Log[0];
            Assert.Equal("POST", post.Method);
            Assert.EndsWith("/dicom-web/studies", post.Path);
            var boundary = Multipart.Boundary(post.Header("Content-Type"));
            Assert.Contains("type=\"application/dicom\"", post.Header("Content-Type"));
            Assert.Equal(seg, Multipart.Parse(post.Body, boundary!).Single().Body);
        }

        [Fact]
        public void DerivedSegUidsAreDeterministicValidAndModelSpecific()
        {
            var a = SegUids.For("1.2.840.1.2.3", "cxas-anatomy-r18", "2");
            var again = SegUids.For("1.2.840.1.2.3", "cxas-anatomy-r18", "2");
            Assert.Equal((a.Instance, a.Series, a.Organisation), (again.Instance, again.Series, again.Organisation));
            Assert.NotEqual(a.Instance, SegUids.For("1.2.840.1.2.3", "cxas-anatomy-r18", "3").Instance);
            Assert.NotEqual(a.Instance, SegUids.For("1.2.840.1.2.4", "cxas-anatomy-r18", "2").Instance);
            Assert.NotEqual(a.Instance, SegUids.For("1.2.840.1.2.3", "cxas-test", "2").Instance);
            Assert.Equal(3, new[] { a.Instance, a.Series, a.Organisation }.Distinct().Count());
            foreach (var uid in new[] { a.Instance, a.Series, a.Organisation })
            {
                Assert.Matches(new Regex(@"^2\.25\.(0|[1-9][0-9]*)$"), uid);
                Assert.True(uid.Length <= 64);
                var value = BigInteger.Parse(uid.Substring(5));
                Assert.True(value < BigInteger.One << 128);
                Assert.Equal(8, (int)((value >> 76) & 0xF)); // UUID version 8 (RFC 9562)
                Assert.Equal(2, (int)((value >> 62) & 0x3)); // RFC variant
            }
        }
    }
}
