using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Cxas.Core.Tests.Dicom;
using Cxas.Core.Tests.Install;
using Cxas.DicomWeb;
using Cxas.Export;

namespace Cxas.Core.Tests.DicomWeb
{
    /// <summary>
    /// A real radiograph (samples/00000001_000.png) as a DICOM CR, segmented once with the default anatomy model, so a
    /// SEG with real segments is built and sent to the STOW servers below.
    /// </summary>
    public sealed class RadiographResultFixture : IDisposable
    {
        public RadiographResultFixture()
        {
            Directory = TestSupport.NewTempDir("cxas-stow");
            using var png = SixLabors.ImageSharp.Image.Load<L8>(Path.Combine(TestSupport.RepoRoot, "samples", "00000001_000.png"));
            var grey = new L8[png.Width * png.Height];
            png.CopyPixelDataTo(grey);
            var pixels = grey.Select(p => (ushort)(p.PackedValue << 4)).ToArray(); // 8 bits into 12
            var dicom = Path.Combine(Directory, "00000001_000.dcm");
            SyntheticDicom.Write(dicom, pixels, new SyntheticDicom.Options { Rows = png.Height, Columns = png.Width, Study = "1.2.3", Series = "1.2.3.4", Instance = "1.2.3.4.5" });
            var model = CxasModel.Load(Path.Combine(TestSupport.RepoRoot, "models", "cxas-anatomy-r18"));
            Result = new Segmenter(model, DeviceSpec.Cpu).Segment(dicom);
            Classes = Enumerable.Range(0, Result.Masks.Count).Where(c => Result.Masks.PixelCounts[c] > 0).ToList();
        }

        public string Directory { get; }
        public SegmentationResult Result { get; }
        /// <summary>The classes the model found on the radiograph (the SEG's segments).</summary>
        public IReadOnlyList<int> Classes { get; }

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>
    /// The DICOMweb client against servers that misbehave on purpose (issue 21): QIDO paging that ignores offset or never
    /// ends, endless QIDO and WADO bodies, STOW answers with control characters, broken JSON, HTTP 500 and an endless
    /// body. Each ends in instances or a Cxas error, never a hang or an unbounded buffer; the servers' loops are bounded
    /// and every wait has a generous hang guard.
    /// </summary>
    public sealed class HostilePeerTests : IClassFixture<RadiographResultFixture>
    {
        private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);
        private const long ServerCap = 256L << 20;
        private readonly RadiographResultFixture _radiograph;
        private readonly ITestOutputHelper _output;

        public HostilePeerTests(RadiographResultFixture radiograph, ITestOutputHelper output)
        {
            _radiograph = radiograph;
            _output = output;
        }

        private static DicomWebClient Client(LoopbackHttpServer server, Action<DicomWebOptions>? set = null)
        {
            var options = new DicomWebOptions { MaxAttempts = 4, Timeout = TimeSpan.FromSeconds(30), Delay = (t, c) => { } };
            set?.Invoke(options);
            return new DicomWebClient(server.Url("/dicom-web"), null, options);
        }

        private static string InstanceJson(int i) =>
            "{\"0020000D\":{\"vr\":\"UI\",\"Value\":[\"1.2.3\"]},\"0020000E\":{\"vr\":\"UI\",\"Value\":[\"1.2.3.4\"]}," +
            $"\"00080018\":{{\"vr\":\"UI\",\"Value\":[\"1.2.3.4.{i}\"]}},\"00080060\":{{\"vr\":\"CS\",\"Value\":[\"CR\"]}}," +
            "\"00280010\":{\"vr\":\"US\",\"Value\":[96]},\"00280011\":{\"vr\":\"US\",\"Value\":[128]}}";

        private static LoopbackHttpServer.Response Json(string json, int status = 200, string reason = "OK") =>
            new LoopbackHttpServer.Response { Status = status, Reason = reason, ContentType = "application/dicom+json", Body = Encoding.UTF8.GetBytes(json) };

        /// <summary>Runs <paramref name="work"/> on another thread, failing the test when it outlives the hang guard.</summary>
        private static T Guarded<T>(Func<CancellationToken, T> work)
        {
            using var stop = new CancellationTokenSource();
            var task = Task.Run(() => work(stop.Token));
            if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(HangGuard))
            {
                stop.Cancel();
                Assert.Fail($"Did not end within {HangGuard.TotalSeconds} s.");
            }
            return task.GetAwaiter().GetResult();
        }

        private CxasException GuardedError(Action<CancellationToken> work)
        {
            var ex = Guarded<Exception?>(c =>
            {
                try { work(c); return null; }
                catch (Exception e) { return e; }
            });
            var cxas = Assert.IsType<CxasException>(ex);
            _output.WriteLine($"{cxas.ErrorId}: {cxas.Message}");
            return cxas;
        }

        /// <summary>A 200 with <paramref name="head"/> and then <paramref name="piece"/> again and again, up to <see cref="ServerCap"/> bytes; counts what it sent.</summary>
        private static LoopbackHttpServer.Response Endless(string contentType, string head, string piece, long[] sent) => new LoopbackHttpServer.Response
        {
            Raw = stream =>
            {
                var start = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nConnection: close\r\n\r\n{head}");
                stream.Write(start, 0, start.Length);
                var bytes = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(piece, Math.Max(1, 65536 / piece.Length))));
                for (long n = 0; n < ServerCap; n += bytes.Length)
                {
                    stream.Write(bytes, 0, bytes.Length);
                    Interlocked.Add(ref sent[0], bytes.Length);
                }
            },
        };

        [Fact]
        public void AServerThatIgnoresOffsetStopsThePagingAfterAPageWithNothingNew()
        {
            // Every request gets the same full page of 100 instances, whatever its offset: the 12,999 requests in 590 s.
            var page = "[" + string.Join(",", Enumerable.Range(0, 100).Select(InstanceJson)) + "]";
            using var server = new LoopbackHttpServer(r => Json(page));
            using var client = Client(server);
            var found = Guarded(c => client.Search(new DicomWebQuery { Limit = 1000, PageSize = 100 }, c).ToList());
            Assert.Equal(100, found.Select(i => i.SopInstanceUid).Distinct().Count());
            Assert.Equal(100, found.Count);
            Assert.Equal(2, server.Log.Count);
            Assert.Equal(new[] { "0", "100" }, server.Log.Select(r => r.QueryValue("offset")));
        }

        [Fact]
        public void PagingThatNeverEndsStopsAtThePageCap()
        {
            // Offset is honoured, but there is always another full page of new instances.
            using var server = new LoopbackHttpServer(r =>
            {
                int offset = int.Parse(r.QueryValue("offset")!);
                return Json("[" + string.Join(",", Enumerable.Range(offset, 10).Select(InstanceJson)) + "]");
            });
            using var client = Client(server, o => o.MaxPages = 7);
            var ex = GuardedError(c => client.Search(new DicomWebQuery { PageSize = 10 }, c).ToList());
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.Contains("more than 7 pages", ex.Message);
            Assert.Equal(7, server.Log.Count);
            Assert.Equal(10_000, new DicomWebOptions().MaxPages);
        }

        [Fact]
        public void AnEndlessQidoBodyIsCutAtTheJsonBoundWithoutRetry()
        {
            var sent = new long[1];
            using var server = new LoopbackHttpServer(r => Endless("application/dicom+json", "[", InstanceJson(7) + ",", sent));
            using var client = Client(server);
            var ex = GuardedError(c => client.Search(new DicomWebQuery(), c).ToList());
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.Contains("33554432 bytes", ex.Message); // the default bound
            Assert.Single(server.Log);
            Assert.True(Interlocked.Read(ref sent[0]) < ServerCap, $"the server sent {sent[0]} bytes: the client read them all");
        }

        [Fact]
        public void AnEndlessWadoMultipartBodyIsCutAtTheInstanceBoundWithoutRetry()
        {
            var sent = new long[1];
            using var server = new LoopbackHttpServer(r => r.Path.Contains("/instances/")
                ? Endless("multipart/related; type=\"application/dicom\"; boundary=b0undary", "--b0undary\r\nContent-Type: application/dicom\r\n\r\nDICM", "\0\0\0\0\0\0\0\0", sent)
                : Json("[" + InstanceJson(1) + "]"));
            using var client = Client(server, o => o.MaxResponseBytes = 16L << 20);
            var instance = client.Search(new DicomWebQuery()).Single();
            var ex = GuardedError(c => client.Retrieve(instance, c));
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.Contains("16777216 bytes", ex.Message);
            Assert.Single(server.Log, r => r.Path.Contains("/instances/"));
            Assert.True(Interlocked.Read(ref sent[0]) < ServerCap, $"the server sent {sent[0]} bytes: the client read them all");
            Assert.Equal(256L << 20, new DicomWebOptions().MaxResponseBytes);
        }

        // ---- STOW-RS: the SEG of a real radiograph, stored against answers that misbehave ----

        private const string Escape = "\\u001b[2J\\u001b]0;pwned\\u0007";

        /// <summary>A server whose QIDO says the SEG is not there yet and whose STOW answers with <paramref name="stow"/>.</summary>
        private static LoopbackHttpServer StowServer(Func<LoopbackHttpServer.Response> stow) =>
            new LoopbackHttpServer(r => r.Method == "POST" ? stow() : Json("[]"));

        private CxasException StoreFails(LoopbackHttpServer server)
        {
            Assert.NotEmpty(_radiograph.Classes);
            using var client = Client(server);
            var ex = GuardedError(c => SegSink.Send(_radiograph.Result, _radiograph.Classes, new DicomSegStore(client, force: false), c));
            Assert.DoesNotContain(ex.Message, char.IsControl);
            var post = Assert.Single(server.Log, r => r.Method == "POST");
            Assert.Equal(_radiograph.Classes.Count, CountSegments(post));
            return ex;
        }

        /// <summary>How many segments the posted SEG holds (SegmentNumber (0062,0004) elements, explicit VR little endian).</summary>
        private static int CountSegments(LoopbackHttpServer.Request post)
        {
            var seg = Multipart.Parse(post.Body, Multipart.Boundary(post.Header("Content-Type"))!).Single().Body;
            var tag = new byte[] { 0x62, 0x00, 0x04, 0x00, (byte)'U', (byte)'S', 2, 0 };
            int count = 0;
            for (int at = seg.AsSpan().IndexOf(tag); at >= 0; at = seg.AsSpan(at + 1).IndexOf(tag) is int next && next >= 0 ? at + 1 + next : -1) count++;
            return count;
        }

        [Fact]
        public void AFailedSopSequenceWithControlCharactersIsAWriteErrorWithCleanText()
        {
            var failed = "{\"00081198\":{\"vr\":\"SQ\",\"Value\":[{\"00081155\":{\"vr\":\"UI\",\"Value\":[\"" + Escape + "\"]}," +
                         "\"00081197\":{\"vr\":\"US\",\"Value\":[43264]},\"00000902\":{\"vr\":\"LO\",\"Value\":[\"bad\\r\\nFAKE LOG LINE " + Escape + "\"]}}]}}";
            using var server = StowServer(() => Json(failed, 409, "Conflict"));
            var ex = StoreFails(server);
            Assert.Equal(CxasErrorKind.WriteFailed, ex.Kind);
            Assert.Contains(_radiograph.Result.Path, ex.Message);
            Assert.Contains("0xA900", ex.Message);
            Assert.Contains("bad??FAKE LOG LINE ?[2J?]0;pwned?", ex.Message); // the server's comment, each control character a '?'
        }

        [Fact]
        public void AStoredAnswerWithControlCharactersInItsRetrieveUrlIsCleaned()
        {
            var uid = DicomSegWriterUids();
            var stored = "{\"00081199\":{\"vr\":\"SQ\",\"Value\":[{\"00081155\":{\"vr\":\"UI\",\"Value\":[\"" + uid + "\"]}," +
                         "\"00081190\":{\"vr\":\"UR\",\"Value\":[\"http://x/" + Escape + "\"]}}]}}";
            using var server = StowServer(() => Json(stored));
            using var client = Client(server);
            var record = Guarded(c => SegSink.Send(_radiograph.Result, _radiograph.Classes, new DicomSegStore(client, force: false), c));
            Assert.Equal(Cxas.Export.OutputStatus.Stored, record.Status);
            Assert.Equal("http://x/?[2J?]0;pwned?", record.OutputPath);
        }

        /// <summary>The SOP Instance UID the SEG of the radiograph gets (derived from the source and the model).</summary>
        private string DicomSegWriterUids()
        {
            return Cxas.Dicom.Seg.ResultSeg.Build(_radiograph.Result, _radiograph.Classes).Uids.Instance;
        }

        [Fact]
        public void ASuccessWithBrokenJsonIsNotTakenAsStored()
        {
            using var server = StowServer(() => Json("{\"00081199\": {\"vr\": \"SQ\", \"Value\": [ {\"00081155\": \u001b[31m"));
            var ex = StoreFails(server);
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("not valid JSON", ex.Message);
            Assert.Contains("unknown", ex.Message);
        }

        [Fact]
        public void AnHttp500IsANetworkErrorWithCleanText()
        {
            using var server = StowServer(() => new LoopbackHttpServer.Response
            {
                Status = 500, Reason = "Internal\u001b[31mError", ContentType = "text/html", Body = Encoding.UTF8.GetBytes("<html>\u001b[2Jstack trace</html>"),
            });
            var ex = StoreFails(server);
            Assert.Equal(CxasErrorKind.Network, ex.Kind);
            Assert.Contains("HTTP 500", ex.Message);
        }

        [Fact]
        public void AnEndlessStowAnswerIsCutAtTheJsonBoundWithoutRetry()
        {
            var sent = new long[1];
            using var server = new LoopbackHttpServer(r => r.Method == "POST" ? Endless("application/dicom+json", "[", InstanceJson(3) + ",", sent) : Json("[]"));
            var ex = StoreFails(server);
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.True(Interlocked.Read(ref sent[0]) < ServerCap, $"the server sent {sent[0]} bytes: the client read them all");
        }
    }
}
