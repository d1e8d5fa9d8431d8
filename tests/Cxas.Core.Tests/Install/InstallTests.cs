using System.Text;
using Cxas.Core.Tests.Import;
using Cxas.Import;
using Cxas.Provisioning;

namespace Cxas.Core.Tests.Install
{
    /// <summary>
    /// One network's weights in every checkpoint layout (training/generate_layout_fixtures.py, from the committed
    /// reduced fixture), a synthetic radiograph and PyTorch's masks for it, written once for the install tests.
    /// </summary>
    public sealed class LayoutFixture : IDisposable
    {
        public static readonly string[] Layouts =
            { "reference", "bare", "state_dict", "model_state_dict", "network", "net", "prefix_model", "prefix_net", "flat_backbone", "combined" };

        public LayoutFixture()
        {
            Directory = TestSupport.NewTempDir();
            var repo = Path.GetFullPath(Path.Combine(TestSupport.ImportFixtures, "..", "..", ".."));
            TestSupport.PythonFile(Path.Combine(repo, "training", "generate_layout_fixtures.py"),
                "--checkpoint", TestSupport.ReducedCheckpoint, "--out", Directory);
        }

        public string Directory { get; }
        public string Checkpoint(string layout) => Path.Combine(Directory, layout + ".pth");
        public byte[] Bytes(string layout) => File.ReadAllBytes(Checkpoint(layout));
        public string Image => Path.Combine(Directory, "chest.png");
        public string Masks => Path.Combine(Directory, "chest_masks.npy");

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>
    /// Install-CxasModel's core against a loopback HTTP server: every layout gives PyTorch's masks; the Drive
    /// confirmation page, redirects, resumes, wrong hashes, 404s, HTML pages and truncated transfers behave.
    /// </summary>
    public sealed class InstallTests : TempFolderTests, IClassFixture<LayoutFixture>
    {
        private const double MinMaskAgreement = 0.9999;
        private readonly LayoutFixture _fixture;
        private readonly ITestOutputHelper _output;
        private readonly string _root;

        public InstallTests(LayoutFixture fixture, ITestOutputHelper output)
        {
            _fixture = fixture;
            _output = output;
            _root = Path.Combine(Dir, "models");
        }
        private InstallRequest Request(string? source, string name = ModelImporter.ReferenceModelName, string? baseUrl = null) => new InstallRequest
        {
            Name = name,
            Source = source,
            Root = _root,
            SourceBaseUrl = baseUrl ?? "http://127.0.0.1:9/none", // the known sources never leave loopback in these tests
            Download = new DownloadOptions
            {
                ResumeDelay = TimeSpan.Zero,
                ResponseTimeout = TimeSpan.FromSeconds(20),
                ReadTimeout = TimeSpan.FromSeconds(20),
            },
        };

        /// <summary>No model folder, no temporary download or folder left in the models root.</summary>
        private void AssertNothingLeft(string name = ModelImporter.ReferenceModelName)
        {
            Assert.False(Directory.Exists(Path.Combine(_root, name)));
            if (Directory.Exists(_root))
                Assert.DoesNotContain(Directory.GetFileSystemEntries(_root), e => Path.GetFileName(e).StartsWith(".", StringComparison.Ordinal));
        }

        /// <summary>Segments the fixture image with an installed model and compares every mask pixel with PyTorch's.</summary>
        private double MaskAgreement(string modelDirectory)
        {
            var model = CxasModel.Load(modelDirectory);
            var result = new Segmenter(model, DeviceSpec.Cpu).Segment(_fixture.Image);
            return TestSupport.CompareMasks(result, _fixture.Masks).Agreement;
        }

        public static IEnumerable<object[]> LayoutNames => LayoutFixture.Layouts.Select(l => new object[] { l });

        [Theory]
        [MemberData(nameof(LayoutNames))]
        public void EveryLayoutInstalledOverHttpSegmentsLikePyTorch(string layout)
        {
            var bytes = _fixture.Bytes(layout);
            using var server = new LoopbackHttpServer(r => r.Path == "/files/" + layout + ".pth" ? LoopbackHttpServer.Response.File(bytes) : LoopbackHttpServer.Response.NotFound());
            var name = "layout-" + layout.Replace('_', '-');
            var result = ModelInstaller.Install(Request(server.Url($"/files/{layout}.pth").ToString(), name));

            Assert.Equal(Path.Combine(Path.GetFullPath(_root), name), result.Directory);
            Assert.Equal(ModelImporter.Sha256(_fixture.Checkpoint(layout)), result.Sha256);
            var manifest = CxasModel.Load(result.Directory).Manifest;
            Assert.Equal(server.Url($"/files/{layout}.pth").ToString(), manifest.Provenance!["sourceUrl"]);
            Assert.Equal(result.Sha256, manifest.Provenance["sourceSha256"]);
            Assert.Equal(bytes.Length.ToString(), manifest.Provenance["sourceBytes"]);
            Assert.True(manifest.Provenance.ContainsKey("installedUtc"));
            double agreement = MaskAgreement(result.Directory);
            _output.WriteLine($"{layout}: masks agree with PyTorch's on {agreement:P5} of pixels; key rewrites: " +
                              (manifest.Provenance.TryGetValue("keyRewrites", out var k) ? k : "none"));
            Assert.True(agreement >= MinMaskAgreement, $"{layout}: mask agreement {agreement:P5}");
            AssertNothingLeft(name: "none");
        }

        /// <summary>A Drive-like server: the file id answers with a warning page; only its continuation (with the cookie) gives the file.</summary>
        private static LoopbackHttpServer DriveServer(byte[] file, string style, Func<LoopbackHttpServer.Request, LoopbackHttpServer.Response?>? github = null)
        {
            const string token = "t0Ken-42";
            return new LoopbackHttpServer(r =>
            {
                if (r.Path.StartsWith("/github/", StringComparison.Ordinal))
                    return github?.Invoke(r) ?? LoopbackHttpServer.Response.NotFound();
                bool hasCookie = (r.Header("Cookie") ?? "").Contains("download_warning_13=" + token);
                if (r.Path == "/drive/uc" && r.QueryValue("id") == ModelSources.ReferenceDriveFileId)
                {
                    if (r.QueryValue("confirm") == token && (style != "cookie" || hasCookie)) return LoopbackHttpServer.Response.File(file);
                    var page = style == "form"
                        ? "<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>" +
                          "<p>Google Drive can't scan this file for viruses.</p>" +
                          "<form id=\"download-form\" action=\"/usercontent/download\" method=\"get\">" +
                          "<input type=\"submit\" id=\"uc-download-link\" value=\"Download anyway\"/>" +
                          $"<input type=\"hidden\" name=\"id\" value=\"{ModelSources.ReferenceDriveFileId}\">" +
                          "<input type=\"hidden\" name=\"export\" value=\"download\">" +
                          $"<input type=\"hidden\" name=\"confirm\" value=\"{token}\">" +
                          "<input type=\"hidden\" name=\"uuid\" value=\"5e0c-aa&amp;b\"></form></body></html>"
                        : style == "link"
                            ? "<html><head><title>Google Drive - Virus scan warning</title></head><body>" +
                              $"<a id=\"uc-download-link\" href=\"/drive/uc?export=download&amp;confirm={token}&amp;id={ModelSources.ReferenceDriveFileId}\">Download anyway</a></body></html>"
                            : "<html><head><title>Google Drive - Virus scan warning</title></head><body>Download anyway</body></html>";
                    var response = LoopbackHttpServer.Response.Html(page);
                    response.Headers.Add(new KeyValuePair<string, string>("Set-Cookie", $"download_warning_13={token}; Path=/"));
                    return response;
                }
                if (r.Path == "/usercontent/download" && r.QueryValue("confirm") == token && r.QueryValue("uuid") == "5e0c-aa&b"
                    && r.QueryValue("id") == ModelSources.ReferenceDriveFileId && r.QueryValue("export") == "download")
                    return LoopbackHttpServer.Response.Redirect("/usercontent/blob?signature=abc");
                if (r.Path == "/usercontent/blob") return LoopbackHttpServer.Response.File(file);
                return LoopbackHttpServer.Response.NotFound();
            });
        }

        [Theory]
        [InlineData("form")]   // today's page: a GET form with hidden id/export/confirm/uuid
        [InlineData("link")]   // the older page: a link carrying confirm=
        [InlineData("cookie")] // the oldest: only a download_warning_* cookie holds the token
        public void ReferenceSourceGoesThroughTheDriveConfirmationPage(string style)
        {
            var file = _fixture.Bytes("reference");
            using var server = DriveServer(file, style);
            var result = ModelInstaller.Install(Request(ModelSources.Reference, baseUrl: server.BaseUrl));
            _output.WriteLine(string.Join("\n", server.Log));

            Assert.Equal(ModelSources.Reference, result.SourceKind);
            Assert.Equal(ModelImporter.Sha256(_fixture.Checkpoint("reference")), result.Sha256);
            Assert.StartsWith(server.BaseUrl + "/drive/uc?export=download&id=" + ModelSources.ReferenceDriveFileId, result.Source);
            Assert.True(server.Log.Count >= 2);
            Assert.Contains(server.Log, r => r.QueryValue("confirm") == "t0Ken-42");
            var model = CxasModel.Load(result.Directory);
            Assert.Equal(ModelImporter.ReferenceLicence, model.Manifest.Licence);
            Assert.True(MaskAgreement(result.Directory) >= MinMaskAgreement);
        }

        [Fact]
        public void AutoTakesTheGitHubAssetFirstThroughItsRedirects()
        {
            var file = _fixture.Bytes("flat_backbone");
            // Signed storage on another port, as a release asset's second redirect leads to another host.
            using var storage = new LoopbackHttpServer(r => r.Path == "/blob" && r.QueryValue("sig") == "y"
                ? LoopbackHttpServer.Response.File(file) : LoopbackHttpServer.Response.NotFound());
            using var server = DriveServer(_fixture.Bytes("reference"), "form", r =>
                r.Path == "/github" + ModelSources.TorchXRayVisionPath ? LoopbackHttpServer.Response.Redirect("/github/releases/asset/123?sig=x")
                : r.Path == "/github/releases/asset/123" ? LoopbackHttpServer.Response.Redirect(storage.BaseUrl + "/blob?sig=y", 307)
                : null);

            var result = ModelInstaller.Install(Request(null, baseUrl: server.BaseUrl));
            Assert.Equal(ModelSources.TorchXRayVision, result.SourceKind);
            Assert.Empty(result.Failures);
            Assert.Equal(ModelImporter.Sha256(_fixture.Checkpoint("flat_backbone")), result.Sha256);
            Assert.DoesNotContain(server.Log, r => r.Path.StartsWith("/drive", StringComparison.Ordinal));
            Assert.Single(storage.Log);
            Assert.Equal(server.Url("/github" + ModelSources.TorchXRayVisionPath).ToString(), CxasModel.Load(result.Directory).Manifest.Provenance!["sourceUrl"]);
            Assert.True(MaskAgreement(result.Directory) >= MinMaskAgreement);
        }

        [Fact]
        public void AutoFallsBackToDriveWhenTheGitHubAssetIsMissing()
        {
            using var server = DriveServer(_fixture.Bytes("reference"), "form"); // /github/... answers 404
            var result = ModelInstaller.Install(Request(ModelSources.Auto, baseUrl: server.BaseUrl));
            Assert.Equal(ModelSources.Reference, result.SourceKind);
            var failure = Assert.Single(result.Failures);
            Assert.Contains("404", failure);
            Assert.Contains(ModelSources.TorchXRayVision, failure);
            Assert.StartsWith("/github/", server.Log[0].Path, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData(true)]  // the server honours Range: only the missing part is sent again
        [InlineData(false)] // the server ignores Range: the file is read again from the start
        public void ConnectionDroppedHalfwayIsResumed(bool ranges)
        {
            var file = _fixture.Bytes("reference");
            int calls = 0;
            using var server = new LoopbackHttpServer(r =>
                System.Threading.Interlocked.Increment(ref calls) == 1
                    ? LoopbackHttpServer.Response.File(file, ranges, dropAfter: file.Length / 2)
                    : LoopbackHttpServer.Response.File(file, ranges));
            var result = ModelInstaller.Install(Request(server.Url("/ckpt.pth").ToString()));
            _output.WriteLine(string.Join("\n", server.Log));

            Assert.Equal(1, result.Resumes);
            Assert.Equal(ModelImporter.Sha256(_fixture.Checkpoint("reference")), result.Sha256);
            Assert.Equal(2, server.Log.Count);
            Assert.Null(server.Log[0].Header("Range"));
            Assert.Matches(@"^bytes=\d+-$", server.Log[1].Header("Range"));
            Assert.True(long.Parse(server.Log[1].Header("Range")!.Substring(6).TrimEnd('-')) > 0);
            Assert.True(MaskAgreement(result.Directory) >= MinMaskAgreement);
        }

        [Fact]
        public void ResumeRefusedWith416StartsAgainFromTheFirstByte()
        {
            var file = _fixture.Bytes("reference");
            int calls = 0;
            using var server = new LoopbackHttpServer(r =>
            {
                int call = System.Threading.Interlocked.Increment(ref calls);
                if (call == 1) return LoopbackHttpServer.Response.File(file, dropAfter: file.Length / 2);
                if (call == 2) return new LoopbackHttpServer.Response { Status = 416, Reason = "Range Not Satisfiable", ContentType = "text/plain" };
                return LoopbackHttpServer.Response.File(file);
            });
            var result = ModelInstaller.Install(Request(server.Url("/ckpt.pth").ToString()));
            Assert.Equal(2, result.Resumes);
            Assert.Equal(3, server.Log.Count);
            Assert.NotNull(server.Log[1].Header("Range"));
            Assert.Null(server.Log[2].Header("Range"));
            Assert.Equal(ModelImporter.Sha256(_fixture.Checkpoint("reference")), result.Sha256);
        }

        [Fact]
        public void TransferThatKeepsBreakingIsATruncationErrorAndLeavesNothing()
        {
            var file = _fixture.Bytes("reference");
            using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.File(file, ranges: false, dropAfter: file.Length / 3));
            var request = Request(server.Url("/ckpt.pth").ToString());
            request.Download.MaxResumes = 2;
            var ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(request));
            _output.WriteLine(ex.Message);
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("truncated", ex.Message);
            Assert.Contains(server.Url("/ckpt.pth").ToString(), ex.Message);
            Assert.Equal(3, server.Log.Count);
            AssertNothingLeft();
        }

        [Fact]
        public void WrongSha256IsRefusedAndNothingIsInstalled()
        {
            var file = _fixture.Bytes("reference");
            using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.File(file));
            var request = Request(server.Url("/ckpt.pth").ToString());
            request.ExpectedSha256 = new string('0', 64);
            var ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(request));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains(ModelImporter.Sha256(_fixture.Checkpoint("reference")), ex.Message);
            Assert.Contains(new string('0', 64), ex.Message);
            AssertNothingLeft();

            // The right hash (in capitals, as some sites print it) installs.
            request.ExpectedSha256 = ModelImporter.Sha256(_fixture.Checkpoint("reference")).ToUpperInvariant();
            var result = ModelInstaller.Install(request);
            Assert.Equal("true", CxasModel.Load(result.Directory).Manifest.Provenance!["sha256Pinned"]);
            Assert.Throws<CxasException>(() => ModelInstaller.NormaliseSha256("abc"));
        }

        [Fact]
        public void NotFoundIsAClearError()
        {
            using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.NotFound());
            var url = server.Url("/missing.pth").ToString();
            var ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(Request(url)));
            Assert.Equal(CxasErrorKind.NotFound, ex.Kind);
            Assert.Contains("404", ex.Message);
            Assert.Contains(url, ex.Message);
            AssertNothingLeft();
        }

        [Theory]
        [InlineData("text/html")]
        [InlineData("application/octet-stream")] // an HTML page mislabelled as a binary
        public void HtmlPageWhereACheckpointWasExpectedIsRefused(string contentType)
        {
            using var server = new LoopbackHttpServer(r =>
            {
                var page = LoopbackHttpServer.Response.Html("<!doctype html><html><head><title>Sign in - Google Accounts</title></head><body>...</body></html>");
                page.ContentType = contentType;
                return page;
            });
            var ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(Request(server.Url("/ckpt.pth").ToString())));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("HTML page", ex.Message);
            Assert.Contains("Sign in - Google Accounts", ex.Message);
            AssertNothingLeft();
        }

        [Fact]
        public void SomethingElseThanACheckpointIsRefusedAtItsFirstBytes()
        {
            using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.File(Encoding.ASCII.GetBytes("GIF89a-not-a-checkpoint")));
            var ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(Request(server.Url("/ckpt.pth").ToString())));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("PK", ex.Message);
            AssertNothingLeft();
        }

        [Fact]
        public void AnInstalledModelIsKeptWithoutForceAndNothingIsDownloaded()
        {
            var file = _fixture.Bytes("bare");
            using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.File(file));
            var request = Request(server.Url("/ckpt.pth").ToString());
            var first = ModelInstaller.Install(request);
            var ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(request));
            Assert.Equal(CxasErrorKind.AlreadyExists, ex.Kind);
            Assert.Equal(CxasRemedy.Overwrite, ex.Remedy);
            Assert.Single(server.Log);
            request.Force = true;
            var second = ModelInstaller.Install(request);
            Assert.Equal(first.Directory, second.Directory);
            Assert.Equal(2, server.Log.Count);
            Assert.DoesNotContain(Directory.GetFileSystemEntries(_root), e => Path.GetFileName(e).StartsWith(".", StringComparison.Ordinal));
        }

        [Fact]
        public void PathInstallsAFileAlreadyDownloadedWithTheSameChecks()
        {
            var request = Request(null);
            request.Path = _fixture.Checkpoint("prefix_net");
            request.ExpectedSha256 = new string('a', 64);
            var ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(request));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Equal(_fixture.Checkpoint("prefix_net"), ex.FilePath);
            AssertNothingLeft();

            var page = Path.Combine(Dir, "saved-by-browser.pth");
            File.WriteAllText(page, "\n<html><title>Google Drive - Virus scan warning</title></html>");
            request.Path = page;
            request.ExpectedSha256 = null;
            ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(request));
            Assert.Contains("HTML page", ex.Message);
            Assert.Equal(page, ex.FilePath);

            request.Path = _fixture.Checkpoint("prefix_net");
            var result = ModelInstaller.Install(request);
            Assert.Equal("File", result.SourceKind);
            Assert.Equal(new Uri(_fixture.Checkpoint("prefix_net")).AbsoluteUri, CxasModel.Load(result.Directory).Manifest.Provenance!["sourceUrl"]);
            Assert.True(File.Exists(_fixture.Checkpoint("prefix_net"))); // the user's file is left alone
            Assert.True(MaskAgreement(result.Directory) >= MinMaskAgreement);
        }

        [Fact]
        public void WrongFileOfAnotherArchitectureIsRefusedWithTheTensorNames()
        {
            var w = new TestCheckpointWriter();
            using (var original = TorchCheckpoint.Open(TestSupport.ReducedCheckpoint))
                w = TestCheckpointWriter.From(original);
            w.Tensors.RemoveAll(t => t.Name.StartsWith("head.up4.conv.double_conv.1.", StringComparison.Ordinal)
                                     || t.Name == "head.up4.conv.double_conv.4.running_var");
            w.Add("classifier.weight", new long[] { 2, 3 }, new float[6]);
            var bytes = w.ToBytes();
            using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.File(bytes));
            var ex = Assert.Throws<CxasException>(() => ModelInstaller.Install(Request(server.Url("/other.pth").ToString())));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("head.up4.conv.double_conv.1.running_mean", ex.Message);
            Assert.Contains("classifier.weight", ex.Message);
            Assert.Contains("head.up4.conv.double_conv.4.running_var", ex.Message);
            AssertNothingLeft();
        }

        [Fact]
        public void AllUsersInstallGoesToTheMachineFolderIsListedResolvedAndRemoved()
        {
            var machine = Path.Combine(Dir, "machine-models");
            var user = Path.Combine(Dir, "user-models");
            var saved = Environment.GetEnvironmentVariable(ModelCatalog.MachineModelPathVariable);
            Environment.SetEnvironmentVariable(ModelCatalog.MachineModelPathVariable, machine);
            try
            {
                Assert.Equal(Path.GetFullPath(machine), ModelInstaller.ScopeRoot(ModelScope.AllUsers));
                var file = _fixture.Bytes("network");
                using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.File(file));
                var request = Request(server.Url("/ckpt.pth").ToString());
                request.Root = null;
                request.Scope = ModelScope.AllUsers;
                var result = ModelInstaller.Install(request);
                Assert.Equal(Path.Combine(Path.GetFullPath(machine), ModelImporter.ReferenceModelName), result.Directory);

                var catalog = new ModelCatalog(null, new[] { user }, ModelCatalog.MachineModelsRoot);
                var entry = Assert.Single(catalog.List());
                Assert.Equal(ModelCatalog.ScopeAllUsers, entry.Scope);
                Assert.Equal(result.Sha256, entry.Sha256);
                Assert.Equal(server.Url("/ckpt.pth").ToString(), entry.Source);
                Assert.True(entry.Bytes > 0);
                Assert.Equal(5, entry.LabelCount);
                Assert.Equal(result.Directory, catalog.ResolveDirectory(ModelImporter.ReferenceModelName));

                Assert.Throws<CxasException>(() => ModelInstaller.FindInstalled(ModelImporter.ReferenceModelName, catalog, ModelScope.CurrentUser));
                var found = ModelInstaller.FindInstalled(ModelImporter.ReferenceModelName.ToLowerInvariant(), catalog);
                Assert.Equal(result.Directory, found);
                ModelInstaller.Remove(found, catalog);
                Assert.False(Directory.Exists(result.Directory));
                Assert.Empty(Directory.GetFileSystemEntries(machine));
                var missing = Assert.Throws<CxasException>(() => catalog.ResolveDirectory(ModelImporter.ReferenceModelName));
                Assert.Equal(CxasRemedy.InstallReferenceModel, missing.Remedy);
                Assert.Contains("is not installed", missing.Message);
            }
            finally
            {
                Environment.SetEnvironmentVariable(ModelCatalog.MachineModelPathVariable, saved);
            }
        }

        [Fact]
        public void RemoveOnlyDeletesModelFoldersDirectlyInsideAnInstallRoot()
        {
            var user = Path.Combine(Dir, "user");
            var module = Path.Combine(Dir, "module");
            var catalog = new ModelCatalog(module, new[] { user });
            // A folder without model.json, inside the root.
            var plain = Directory.CreateDirectory(Path.Combine(user, "photos")).FullName;
            File.WriteAllText(Path.Combine(plain, "keep.txt"), "x");
            Assert.Equal(CxasErrorKind.InvalidArgument, Assert.Throws<CxasException>(() => ModelInstaller.Remove(plain, catalog)).Kind);
            // A model folder outside every install root, and one nested deeper.
            foreach (var dir in new[] { Path.Combine(Dir, "elsewhere", "m"), Path.Combine(user, "a", "m"), Path.Combine(module, "shipped") })
            {
                Directory.CreateDirectory(dir);
                new ModelManifest { Name = "m", Labels = new[] { "c" } }.Save(Path.Combine(dir, CxasModel.ManifestFileName));
                var ex = Assert.Throws<CxasException>(() => ModelInstaller.Remove(dir, catalog));
                Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
                Assert.True(Directory.Exists(dir));
            }
            // The root itself, and '..' spellings of it.
            Assert.Throws<CxasException>(() => ModelInstaller.Remove(user, catalog));
            Assert.Throws<CxasException>(() => ModelInstaller.Remove(Path.Combine(user, "a", ".."), catalog));
            Assert.True(File.Exists(Path.Combine(plain, "keep.txt")));
            var shipped = Assert.Throws<CxasException>(() => ModelInstaller.FindInstalled("shipped", catalog));
            Assert.Contains("ships with the module", shipped.Message);
            Assert.Equal(CxasErrorKind.InvalidOperation, shipped.Kind);
        }

        [Fact]
        public void AutoInstallsTheReferenceToolsOwnDownloadWithoutDownloading()
        {
            var cxasPath = Path.Combine(Dir, "cxas-path");
            var weights = Directory.CreateDirectory(Path.Combine(cxasPath, ".cxas", "weights")).FullName;
            File.Copy(_fixture.Checkpoint("reference"), Path.Combine(weights, ModelImporter.ReferenceModelName + ".pth"));
            var saved = Environment.GetEnvironmentVariable("CXAS_PATH");
            Environment.SetEnvironmentVariable("CXAS_PATH", cxasPath);
            try
            {
                using var server = new LoopbackHttpServer(r => LoopbackHttpServer.Response.NotFound());
                var local = Path.Combine(weights, ModelImporter.ReferenceModelName + ".pth");
                Assert.Contains(local, ModelSources.ReferenceToolCheckpoints());
                // Not installed yet: the error of a -Model lookup offers that file by name.
                var missing = Assert.Throws<CxasException>(() => new ModelCatalog(null, new[] { _root }).ResolveDirectory(ModelImporter.ReferenceModelName));
                Assert.Equal(CxasRemedy.InstallReferenceModel, missing.Remedy);
                Assert.Equal(local, missing.FilePath);
                Assert.Contains($"'{local}'", missing.Message);
                var result = ModelInstaller.Install(Request(null, baseUrl: server.BaseUrl));
                Assert.Equal("File", result.SourceKind);
                Assert.Empty(server.Log);
            }
            finally
            {
                Environment.SetEnvironmentVariable("CXAS_PATH", saved);
            }
        }

        [Fact]
        public void KnownSourcesNeedTheKnownModelAndUnknownSourcesAreRefused()
        {
            Assert.Equal(CxasErrorKind.InvalidArgument, Assert.Throws<CxasException>(() => ModelSources.Resolve("Auto", "my-model")).Kind);
            Assert.Equal(CxasErrorKind.InvalidArgument, Assert.Throws<CxasException>(() => ModelSources.Resolve("ftp://x/y.pth", "m")).Kind);
            Assert.Equal(CxasErrorKind.InvalidArgument, Assert.Throws<CxasException>(() => ModelSources.Resolve("file.pth", "m")).Kind);
            var real = ModelSources.Resolve(null, ModelImporter.ReferenceModelName, baseUrl: "");
            // Facts of the issue, not fetched here: the GitHub asset first, then the Drive file.
            Assert.Equal(new[] { ModelSources.TorchXRayVisionUrl, ModelSources.ReferenceDriveUrl }, real.Select(s => s.Url.ToString()));
            Assert.Equal("https://github.com/mlmed/torchxrayvision/releases/download/v1/baseline_models_cxas_UNet_ResNet50_default_repack.pth", real[0].Url.ToString());
            Assert.Contains("1Y9zubvMzkYHoAqz-NvV6vniH5FKAF2iV", real[1].Url.ToString());
            Assert.True(real[1].DriveConfirmation);
            Assert.Equal(CxasErrorKind.InvalidArgument, Assert.Throws<CxasException>(() => ModelInstaller.Install(new InstallRequest { Name = "..", Root = _root })).Kind);
        }
    }
}
