using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Cxas.IO;
using Cxas.Provisioning;

namespace Cxas.Core.Tests.Install
{
    /// <summary>A fact that writes to Linux's /dev/full (every write fails with "no space left on device").</summary>
    public sealed class DevFullFactAttribute : FactAttribute
    {
        public DevFullFactAttribute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || !File.Exists("/dev/full")) Skip = "Needs Linux's /dev/full.";
        }
    }

    /// <summary>
    /// Install-CxasModel's download against servers that misbehave on purpose (issue 21): an endless body, a size
    /// announced beyond the cap, a full disk, a trickle of one byte every 2 s, a body that breaks every 1,000 bytes,
    /// redirects to file: and ftp:, and the partial files of killed installs. Each ends in a Cxas error (or a clean
    /// models folder) within a bounded time; each server's loop is bounded too, and every wait has a generous hang guard.
    /// </summary>
    public sealed class HostileDownloadTests : TempFolderTests
    {
        /// <summary>Longest any one install here may take before the test calls it a hang (the fixed code needs a fraction).</summary>
        private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(90);
        private static readonly byte[] ZipStart = { (byte)'P', (byte)'K', 3, 4 };
        private readonly string _root;

        public HostileDownloadTests(ITestOutputHelper output) : base("cxas-hostile", output) => _root = Path.Combine(Dir, "models");

        private InstallRequest Request(LoopbackHttpServer server, string path = "/ckpt.pth") => new InstallRequest
        {
            Name = "hostile",
            Source = server.Url(path).ToString(),
            Root = _root,
            Download = new DownloadOptions { ResumeDelay = TimeSpan.Zero, ResponseTimeout = TimeSpan.FromSeconds(20), ReadTimeout = TimeSpan.FromSeconds(20) },
        };

        /// <summary>Installs on another thread and waits at most <see cref="HangGuard"/>; the install's error is returned.</summary>
        private CxasException InstallFails(InstallRequest request)
        {
            using var stop = new CancellationTokenSource();
            var install = Task.Run(() => ModelInstaller.Install(request, null, stop.Token));
            if (!((IAsyncResult)install).AsyncWaitHandle.WaitOne(HangGuard))
            {
                stop.Cancel();
                Assert.Fail($"The install did not end within {HangGuard.TotalSeconds} s.");
            }
            var ex = Assert.IsType<CxasException>(install.Exception?.InnerException);
            Out.WriteLine($"{ex.ErrorId}: {ex.Message}");
            return ex;
        }

        /// <summary>No model and nothing hidden (a partial download, a temporary folder) left in the models root.</summary>
        private void AssertNothingLeft()
        {
            if (!Directory.Exists(_root)) return;
            Assert.Empty(Directory.GetFileSystemEntries(_root));
        }

        private static void Ascii(Stream stream, string text)
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            stream.Write(bytes, 0, bytes.Length);
        }

        /// <summary>A 200 whose body starts as a checkpoint does and goes on with zeros, up to <paramref name="serverCap"/> bytes; counts what it sent.</summary>
        private static Action<Stream> EndlessBody(long serverCap, long[] sent, long? announced = null) => stream =>
        {
            Ascii(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n" +
                          (announced.HasValue ? $"Content-Length: {announced}\r\n" : "") + "\r\n");
            var chunk = new byte[1 << 16];
            ZipStart.CopyTo(chunk, 0);
            for (long n = 0; n < serverCap; n += chunk.Length)
            {
                stream.Write(chunk, 0, chunk.Length);
                Interlocked.Add(ref sent[0], chunk.Length);
                chunk[0] = 0;
            }
        };

        [Fact]
        public void AnEndlessBodyStopsAtTheSizeCapAndLeavesNothing()
        {
            // The server would send 256 MiB without a length; the cap here is 4 MiB.
            var sent = new long[1];
            using var server = new LoopbackHttpServer(r => new LoopbackHttpServer.Response { Raw = EndlessBody(256L << 20, sent) });
            var request = Request(server);
            request.Download.MaxBytes = 4L << 20;
            var ex = InstallFails(request);
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.Contains("sent more than the 4194304 bytes", ex.Message);
            Assert.Contains(server.Url("/ckpt.pth").ToString(), ex.Message);
            Assert.Single(server.Log); // a body over the cap is not tried again
            Assert.True(Interlocked.Read(ref sent[0]) < 256L << 20, $"the server sent {sent[0]} bytes: the client read it all");
            AssertNothingLeft();
        }

        [Fact]
        public void ASizeAnnouncedBeyondTheDefaultCapIsRefusedBeforeItsBody()
        {
            Assert.Equal(2L << 30, new DownloadOptions().MaxBytes);
            var sent = new long[1];
            using var server = new LoopbackHttpServer(r => new LoopbackHttpServer.Response { Raw = EndlessBody(1L << 20, sent, announced: 3L << 30) });
            var ex = InstallFails(Request(server));
            Assert.Equal(CxasErrorKind.LimitExceeded, ex.Kind);
            Assert.Contains("announces 3221225472 bytes, more than the 2147483648 bytes", ex.Message);
            Assert.Single(server.Log);
            AssertNothingLeft();
        }

        [DevFullFact]
        public void AFullDiskIsAWriteErrorNamingTheFile()
        {
            var sent = new long[1];
            using var server = new LoopbackHttpServer(r => new LoopbackHttpServer.Response { Raw = EndlessBody(8L << 20, sent) });
            using var downloader = new ModelDownloader(new DownloadOptions { ResumeDelay = TimeSpan.Zero, ReadTimeout = TimeSpan.FromSeconds(20) });
            var ex = Assert.Throws<CxasException>(() => downloader.Download(server.Url("/ckpt.pth"), "/dev/full"));
            Out.WriteLine($"{ex.ErrorId}: {ex.Message}");
            Assert.Equal(CxasErrorKind.WriteFailed, ex.Kind);
            Assert.Equal("/dev/full", ex.FilePath);
            Assert.Single(server.Log); // a full disk is not a broken connection: no resume
        }

        /// <summary>A server that announces 1,000,000 bytes and sends one every 2 s (at most 60 per connection), whatever the range asked.</summary>
        private static LoopbackHttpServer.Response SlowLoris(Action? onRequest = null) => new LoopbackHttpServer.Response
        {
            Raw = stream =>
            {
                onRequest?.Invoke();
                Ascii(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n");
                for (int i = 0; i < 60; i++)
                {
                    stream.Write(ZipStart, i % 4, 1);
                    stream.Flush();
                    Thread.Sleep(2000);
                }
            },
        };

        [Fact]
        public void ASlowLorisIsAStallAndTheDeadlineEndsTheDownload()
        {
            // As in the issue: one byte every 2 s with a 5 s timeout (no read ever waits 5 s), resumed after the default pauses (2 s, 4 s...).
            string[]? during = null;
            using var server = new LoopbackHttpServer(r => SlowLoris(() => during ??= Directory.GetFileSystemEntries(_root)));
            var request = Request(server);
            request.Download.ReadTimeout = TimeSpan.FromSeconds(5);
            request.Download.ResumeDelay = TimeSpan.FromSeconds(2);
            request.Download.Deadline = TimeSpan.FromSeconds(20);
            var ex = InstallFails(request);
            Assert.Equal(CxasErrorKind.Network, ex.Kind);
            Assert.Contains("deadline of 20 s", ex.Message);
            // The last break is the stall (slower than the floor) or, when the deadline cuts the last connection short
            // on a loaded machine, its silence: either way a break, never a download left waiting.
            Assert.Matches("slower than 1024 bytes/s|no data for", ex.Message);
            Assert.InRange(server.Log.Count, 2, 4);
            // While it ran, the partial download had the name of a Cxas temporary (machine and process in it).
            Assert.NotNull(during);
            Assert.True(AtomicOutput.IsTemporaryName(Path.GetFileName(Assert.Single(during!))), during![0]);
            AssertNothingLeft();
        }

        [Fact]
        public void ABodyThatBreaksEvery1000BytesEndsWithinTheDeadline()
        {
            // The server honours Range but closes after 1,000 bytes each time: 100,000 bytes would take 100 resumes.
            var file = ZipStart.Concat(new byte[99_996]).ToArray();
            using var server = new LoopbackHttpServer(r =>
            {
                long from = r.Header("Range") is string range ? long.Parse(range.Substring(6).TrimEnd('-')) : 0;
                return LoopbackHttpServer.Response.File(file, ranges: true, dropAfter: from + 1000);
            });
            var request = Request(server);
            request.Download.ReadTimeout = TimeSpan.FromSeconds(5);
            request.Download.ResumeDelay = TimeSpan.FromSeconds(2); // 2, 4, 8, 16, 30, 30, 30, 30 s: 150 s for 8 resumes
            request.Download.Deadline = TimeSpan.FromSeconds(10);
            var ex = InstallFails(request);
            Assert.Equal(CxasErrorKind.Network, ex.Kind);
            Assert.Contains("deadline of 10 s", ex.Message);
            // Pauses of 2 s and 4 s fit in 10 s, the third (8 s) never does: three requests on an idle machine, two when
            // a loaded one makes the requests themselves slow; each resumes where the last ended.
            int requests = server.Log.Count;
            Assert.InRange(requests, 2, 3);
            Assert.Contains($"{requests * 1000} of 100000 bytes in {requests} request(s)", ex.Message);
            Assert.Equal(Enumerable.Range(0, requests).Select(i => i == 0 ? null : $"bytes={i * 1000}-"), server.Log.Select(r => r.Header("Range")));
            AssertNothingLeft();
        }

        [Theory]
        [InlineData("file:///etc/passwd", "file")]
        [InlineData("ftp://127.0.0.1:9/ckpt.pth", "ftp")]
        public void ARedirectToAnotherSchemeIsRefusedNamingIt(string location, string scheme)
        {
            using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.Redirect(location));
            var ex = InstallFails(Request(server));
            Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
            Assert.Contains($"'{scheme}:'", ex.Message);
            Assert.Contains(server.Url("/ckpt.pth").ToString(), ex.Message);
            AssertNothingLeft();
        }

        [Fact]
        public void PartialsOfKilledInstallsAreRemovedAndNothingElse()
        {
            Directory.CreateDirectory(_root);
            // A process that has ended: its pid in a Cxas temporary name marks the file abandoned.
            int deadPid;
            using (var ended = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
            {
                ended.WaitForExit();
                deadPid = ended.Id;
            }
            var mine = Path.GetFileName(AtomicOutput.TempNameFor(Path.Combine(_root, "x"))); // .cxas-<host>-<this pid>-<random>.tmp
            var parts = mine.Split('-');
            string Temp(string host, int pid) => $".cxas-{host}-{pid}-{parts[3]}";
            string Touch(string name, TimeSpan age)
            {
                var path = Path.Combine(_root, name);
                File.WriteAllText(path, "partial");
                File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
                return path;
            }
            var old = TimeSpan.FromDays(2);
            var killed = Touch(Temp(parts[1], deadPid), TimeSpan.Zero);                // this machine, process gone
            var running = Touch(Temp(parts[1], Environment.ProcessId), TimeSpan.Zero); // this machine, process alive
            var otherHost = Touch(Temp("0badc0de", deadPid), TimeSpan.Zero);          // another machine, recent: cannot tell
            var legacyOld = Touch(".slow.download-1a2b3c4d.pth", old);                 // earlier builds' name, two days old
            var legacyNew = Touch(".slow.download-5e6f7a8b.pth", TimeSpan.Zero);       // the same, recent
            var notOurs = new[]
            {
                Touch(".slow.download-1a2b3c4d.pth.bak", old), Touch(".slow.download-xyz.pth", old), Touch("..download-1a2b3c4d.pth", old),
                Touch("slow.download-1a2b3c4d.pth", old), Touch("notes.txt", old),
            };
            var target = Touch("elsewhere.bin", old);
            var link = Path.Combine(_root, ".link.download-99999999.pth");
            File.CreateSymbolicLink(link, target);
            File.SetLastWriteTimeUtc(target, DateTime.UtcNow - old);

            using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.NotFound());
            var ex = InstallFails(Request(server));
            Assert.Equal(CxasErrorKind.NotFound, ex.Kind);

            Assert.False(File.Exists(killed));
            Assert.False(File.Exists(legacyOld));
            foreach (var kept in new[] { running, otherHost, legacyNew, target }.Concat(notOurs)) Assert.True(File.Exists(kept), kept);
            Assert.NotNull(new FileInfo(link).LinkTarget);
        }
    }
}
