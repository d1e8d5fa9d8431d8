using System.Globalization;
using System.Text.RegularExpressions;
using System.Threading;
using Cxas.Import;
using Cxas.IO;
using Cxas.Models;

namespace Cxas.Provisioning
{
    public enum ModelScope { CurrentUser, AllUsers }

    /// <summary>What to install, from where, and where to. A request a caller fills, so settable (the result is immutable).</summary>
    public sealed class InstallRequest
    {
        public string Name { get; set; } = ModelImporter.ReferenceModelName;
        /// <summary>Auto (default), Reference, TorchXRayVision or an http(s) URL; ignored when <see cref="Path"/> is given.</summary>
        public string? Source { get; set; }
        /// <summary>A checkpoint already on disk (air-gapped machines): nothing is downloaded.</summary>
        public string? Path { get; set; }
        public ModelScope Scope { get; set; }
        /// <summary>The models folder to install into; default the scope's folder.</summary>
        public string? Root { get; set; }
        /// <summary>The checkpoint's expected SHA-256 (hex); a file with another hash is not installed.</summary>
        public string? ExpectedSha256 { get; set; }
        /// <summary>Replace an installed model of the same name.</summary>
        public bool Force { get; set; }
        /// <summary>Where the known sources are read from instead of their real hosts (tests); default $CXAS_MODEL_SOURCE_BASE.</summary>
        public string? SourceBaseUrl { get; set; }
        public DownloadOptions Download { get; set; } = new DownloadOptions();
        /// <summary>Import settings (input size, verification); the name and provenance are set by the installer.</summary>
        public ImportOptions? Import { get; set; }
    }

    /// <summary>A stage of an install: downloading (with <see cref="Download"/>), checking, importing.</summary>
    public sealed class InstallProgress
    {
        public InstallProgress(string stage, int percent, string detail, DownloadProgress? download = null)
        {
            Stage = stage; Percent = percent; Detail = detail; Download = download;
        }
        public string Stage { get; }
        public int Percent { get; }
        public string Detail { get; }
        public DownloadProgress? Download { get; }
    }

    public sealed class InstallResult
    {
        public string Name { get; internal init; } = "";
        public string Directory { get; internal init; } = "";
        public string Root { get; internal init; } = "";
        public ModelScope Scope { get; internal init; }
        /// <summary>Reference, TorchXRayVision, Uri or File.</summary>
        public string SourceKind { get; internal init; } = "";
        /// <summary>The URL downloaded, or the file's full path.</summary>
        public string Source { get; internal init; } = "";
        public string Sha256 { get; internal init; } = "";
        public long Bytes { get; internal init; }
        public int Resumes { get; internal init; }
        /// <summary>Sources tried before the one that worked, each with why it failed.</summary>
        public IReadOnlyList<string> Failures { get; internal init; } = Array.Empty<string>();
        public ImportResult? Import { get; internal init; }
    }

    /// <summary>
    /// Installs a model from a checkpoint fetched over HTTP(S) or given as a file: download to a hidden temporary
    /// file beside the destination (resumed after breaks), SHA-256 (and the pinned hash, if any), the importer
    /// (which refuses missing or unexpected tensors), and an atomic rename of the finished model folder into the
    /// scope's models folder. Nothing is left behind on failure and an installed model is replaced only with
    /// <see cref="InstallRequest.Force"/>; what killed installs left in the models root is removed first
    /// (<see cref="RemoveAbandonedDownloads"/>). Segmentation never calls this: models are only ever installed on request.
    /// </summary>
    public static class ModelInstaller
    {
        private static readonly Regex HexSha256 = new Regex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);

        /// <summary>The folder a scope installs into: the per-user folder (or the first CXAS_MODEL_PATH folder), or the machine-wide one.</summary>
        public static string ScopeRoot(ModelScope scope) =>
            scope == ModelScope.AllUsers ? ModelCatalog.MachineModelsRoot : ModelCatalog.DefaultImportRoot;

        /// <summary>Where <paramref name="request"/> installs to (its name checked).</summary>
        public static string TargetDirectory(InstallRequest request) =>
            ModelNames.ModelDirectory(request.Root ?? ScopeRoot(request.Scope), request.Name);

        /// <summary>A hash given by the user, as 64 lowercase hex digits.</summary>
        public static string NormaliseSha256(string sha)
        {
            var text = Regex.Replace(sha ?? "", @"\s+", "").ToLowerInvariant();
            if (text.StartsWith("sha256:", StringComparison.Ordinal)) text = text.Substring(7);
            if (!HexSha256.IsMatch(text))
                throw new CxasException(CxasErrorKind.InvalidArgument, $"'{sha}' is not a SHA-256 (64 hexadecimal digits).");
            return text;
        }

        public static InstallResult Install(InstallRequest request, Action<InstallProgress>? progress = null, CancellationToken cancel = default)
        {
            var target = TargetDirectory(request);
            var root = System.IO.Path.GetDirectoryName(target)!;
            var expected = request.ExpectedSha256 == null ? null : NormaliseSha256(request.ExpectedSha256);
            // Refuse early: no 300 MB download only to find the model already there.
            if (!request.Force && (System.IO.Directory.Exists(target) || File.Exists(target)))
                throw new CxasException(CxasErrorKind.AlreadyExists,
                    $"Model '{request.Name}' is already installed in '{target}'.", target, remedy: CxasRemedy.Overwrite);

            RemoveAbandonedDownloads(root);

            var candidates = new List<(string Kind, string Location, ModelSource? Remote)>();
            if (request.Path != null)
            {
                var file = System.IO.Path.GetFullPath(request.Path);
                if (!File.Exists(file)) throw new CxasException(CxasErrorKind.NotFound, $"Checkpoint '{file}' does not exist.", file);
                candidates.Add(("File", file, null));
            }
            else
            {
                var remotes = ModelSources.Resolve(request.Source, request.Name, request.SourceBaseUrl);
                // Auto: a copy the reference tool already downloaded is installed without downloading it again.
                if ((request.Source == null || request.Source.Equals(ModelSources.Auto, StringComparison.OrdinalIgnoreCase))
                    && ModelSources.IsKnownModel(request.Name))
                    candidates.AddRange(ModelSources.ReferenceToolCheckpoints().Select(f => ("File", f, (ModelSource?)null)));
                candidates.AddRange(remotes.Select(r => (r.Kind, r.Url.ToString(), (ModelSource?)r)));
            }

            var failures = new List<string>();
            CxasException? last = null;
            foreach (var (kind, location, remote) in candidates)
            {
                cancel.ThrowIfCancellationRequested();
                string? download = null;
                try
                {
                    // Fetch (or take the local file), check its hash, import; the result describes all three.
                    int resumes = 0;
                    string file = location;
                    if (remote != null)
                    {
                        download = CreateDownloadFile(root, request.Name);
                        var options = CopyOptions(request.Download, remote.DriveConfirmation);
                        using var downloader = new ModelDownloader(options);
                        progress?.Invoke(new InstallProgress("Downloading", -1, remote.Url.ToString()));
                        var got = downloader.Download(remote.Url, download,
                            p => progress?.Invoke(new InstallProgress("Downloading", p.Percent, remote.Url.ToString(), p)), cancel);
                        resumes = got.Resumes;
                        file = download;
                    }
                    else
                    {
                        CheckLocalFile(file);
                    }

                    progress?.Invoke(new InstallProgress("Checking SHA-256", -1, location));
                    var sha256 = ModelImporter.Sha256(file, p => progress?.Invoke(new InstallProgress("Checking SHA-256", p, location)));
                    long bytes = new FileInfo(file).Length;
                    if (expected != null && sha256 != expected)
                        throw new CxasException(CxasErrorKind.InvalidData,
                            $"The checkpoint from {location} has SHA-256 {sha256}, not the {expected} expected: not installed.",
                            remote == null ? file : null);

                    var import = CopyImportOptions(request.Import);
                    import.Name = request.Name;
                    if (ModelSources.IsKnownModel(request.Name) || remote?.Kind == ModelSources.Reference || remote?.Kind == ModelSources.TorchXRayVision)
                        import.Licence ??= ModelImporter.ReferenceLicence;
                    import.Provenance = new Dictionary<string, string>(import.Provenance ?? new Dictionary<string, string>(), StringComparer.Ordinal)
                    {
                        ["source"] = remote != null ? remote.Url.ToString() : System.IO.Path.GetFileName(file),
                        ["sourceUrl"] = remote != null ? remote.Url.ToString() : new Uri(file).AbsoluteUri,
                        ["sourceKind"] = kind,
                        ["sourceBytes"] = bytes.ToString(CultureInfo.InvariantCulture),
                        ["installedUtc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                        ["installScope"] = request.Scope.ToString(),
                    };
                    if (expected != null) import.Provenance["sha256Pinned"] = "true";
                    var imported = ModelImporter.Import(file, target, request.Force, import,
                        p => progress?.Invoke(new InstallProgress(p.Stage, p.Percent, p.Detail)));
                    return new InstallResult
                    {
                        Name = request.Name, Directory = target, Root = root, Scope = request.Scope, SourceKind = kind, Source = location,
                        Failures = failures, Resumes = resumes, Sha256 = sha256, Bytes = bytes, Import = imported,
                    };
                }
                catch (CxasException ex) when (IsSourceFailure(ex) && !cancel.IsCancellationRequested)
                {
                    last = ex;
                    failures.Add($"{kind} ({location}): {ex.Message}");
                }
                finally
                {
                    if (download != null) AtomicOutput.TryDelete(download);
                }
            }
            if (candidates.Count == 1 && last != null) throw last;
            throw new CxasException(last?.Kind ?? CxasErrorKind.NotFound,
                $"Model '{request.Name}' could not be installed from any source: {string.Join(" | ", failures)}.", last?.FilePath, last,
                CxasRemedy.UseLocalFile);
        }

        /// <summary>Errors that are the source's fault (try the next one); write errors and conflicts are not.</summary>
        private static bool IsSourceFailure(CxasException ex) =>
            ex.Kind != CxasErrorKind.WriteFailed && ex.Kind != CxasErrorKind.AlreadyExists && ex.Kind != CxasErrorKind.InvalidArgument;

        /// <summary>
        /// A new download file in the models root, named as every Cxas temporary (<see cref="AtomicOutput.TempNameFor"/>:
        /// this machine and this process in the name), so an install killed midway (SIGTERM, a crash) leaves a file that
        /// a later install can prove abandoned.
        /// </summary>
        private static string CreateDownloadFile(string root, string name)
        {
            try
            {
                System.IO.Directory.CreateDirectory(root);
                var path = AtomicOutput.TempNameFor(System.IO.Path.Combine(root, name));
                using (new FileStream(path, FileMode.CreateNew, FileAccess.Write)) { }
                return path;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.WriteFailed,
                    $"Cannot write into the models folder '{root}': {ex.Message}.", root, ex, CxasRemedy.WritableScope);
            }
        }

        /// <summary>How earlier builds named a download: '.&lt;model&gt;.download-&lt;8 hex&gt;.pth', with no process in it.</summary>
        private static readonly Regex LegacyDownload = new Regex(@"^\.(.+)\.download-[0-9a-f]{8}\.pth$", RegexOptions.CultureInvariant);

        /// <summary>
        /// Removes what killed installs left in the models root, and nothing else: Cxas temporaries of this machine whose
        /// process is gone or that are older than <see cref="AtomicOutput.StaleAge"/> (<see cref="AtomicOutput.RemoveStaleTemporaries"/>),
        /// and downloads named as earlier versions named them (a valid model name in the pattern), regular files older than
        /// that age, since their name does not say whether their process still runs.
        /// </summary>
        internal static void RemoveAbandonedDownloads(string root)
        {
            if (!System.IO.Directory.Exists(root)) return;
            AtomicOutput.RemoveStaleTemporaries(root);
            string[] files;
            try { files = System.IO.Directory.GetFiles(root, ".*.download-*.pth"); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return; }
            foreach (var file in files)
            {
                var match = LegacyDownload.Match(System.IO.Path.GetFileName(file));
                if (!match.Success || !ModelNames.IsValid(match.Groups[1].Value)) continue;
                try
                {
                    var info = new FileInfo(file);
                    if ((info.Attributes & FileAttributes.ReparsePoint) != 0) continue; // a link: not a file a download wrote
                    if (DateTime.UtcNow - info.LastWriteTimeUtc > AtomicOutput.StaleAge) info.Delete();
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
            }
        }

        /// <summary>A file given with -Path: a browser-saved Drive warning page is named as such, not as a broken zip.</summary>
        private static void CheckLocalFile(string file)
        {
            var head = new byte[512];
            int n;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read))
                n = stream.Read(head, 0, head.Length);
            if (ModelDownloader.IsZip(head, n)) return;
            if (ModelDownloader.LooksLikeHtml(head, n))
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"'{file}' is an HTML page, not a checkpoint (a browser may have saved the download's warning page instead of the file).", file);
            if (n == 0) throw new CxasException(CxasErrorKind.InvalidData, $"'{file}' is empty.", file);
        }

        private static DownloadOptions CopyOptions(DownloadOptions o, bool drive) => new DownloadOptions
        {
            Proxy = o.Proxy, ResponseTimeout = o.ResponseTimeout, ReadTimeout = o.ReadTimeout, MaxResumes = o.MaxResumes,
            ResumeDelay = o.ResumeDelay, MinimumBytesPerSecond = o.MinimumBytesPerSecond, Deadline = o.Deadline, MaxBytes = o.MaxBytes, UserAgent = o.UserAgent, FollowDriveConfirmation = drive || o.FollowDriveConfirmation,
        };

        private static ImportOptions CopyImportOptions(ImportOptions? o) => o == null ? new ImportOptions() : new ImportOptions
        {
            Version = o.Version, Labels = o.Labels, Licence = o.Licence, InputWidth = o.InputWidth, InputHeight = o.InputHeight,
            Verify = o.Verify, TestOnly = o.TestOnly, Provenance = o.Provenance, Precision = o.Precision, PrecisionOptions = o.PrecisionOptions,
        };

        /// <summary>
        /// The folder of an installed model named <paramref name="name"/> (manifest or folder name) in the install
        /// roots of <paramref name="catalog"/> (never the module's own models), limited to <paramref name="scope"/> when given.
        /// </summary>
        public static string FindInstalled(string name, ModelCatalog catalog, ModelScope? scope = null)
        {
            var roots = catalog.InstallRoots.Where(r => scope == null
                || (scope == ModelScope.AllUsers) == (catalog.ScopeOf(r) == ModelCatalog.ScopeAllUsers)).ToList();
            foreach (var root in roots)
            {
                if (!System.IO.Directory.Exists(root)) continue;
                foreach (var dir in System.IO.Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal))
                {
                    var folder = System.IO.Path.GetFileName(dir);
                    if (!ModelNames.IsValid(folder) || !File.Exists(System.IO.Path.Combine(dir, CxasModel.ManifestFileName))) continue;
                    var entry = ModelCatalog.Describe(dir, root);
                    if (string.Equals(folder, name, StringComparison.OrdinalIgnoreCase) || string.Equals(entry.Name, name, StringComparison.OrdinalIgnoreCase))
                        return System.IO.Path.GetFullPath(dir);
                }
            }
            var module = catalog.ModuleModelsDirectory;
            bool shipped = module != null && System.IO.Directory.Exists(System.IO.Path.Combine(module, name));
            if (shipped)
                throw new CxasException(CxasErrorKind.InvalidOperation, $"Model '{name}' ships with the module ({module}) and cannot be uninstalled.");
            throw new CxasException(CxasErrorKind.NotFound,
                $"No installed model named '{name}'{(scope == null ? "" : $" in scope {scope}")} (searched {string.Join(", ", roots)}).");
        }

        /// <summary>
        /// Removes an installed model folder: only a folder with a valid model name that holds model.json, directly
        /// inside one of the catalog's install roots. It is renamed to a hidden name first, so it vanishes from the
        /// catalog at once even if deleting its files fails halfway.
        /// </summary>
        public static void Remove(string directory, ModelCatalog catalog)
        {
            var full = System.IO.Path.GetFullPath(directory).TrimEnd(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar);
            var leaf = System.IO.Path.GetFileName(full);
            var parent = System.IO.Path.GetDirectoryName(full) ?? "";
            if (!ModelNames.IsValid(leaf) || !catalog.InstallRoots.Any(r => ModelNames.IsDirectChild(r, full)))
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"'{full}' is not directly inside a models folder Cxas installs into ({string.Join(", ", catalog.InstallRoots)}): not removed.", full);
            if (!File.Exists(System.IO.Path.Combine(full, CxasModel.ManifestFileName)))
                throw new CxasException(CxasErrorKind.InvalidArgument, $"'{full}' is not a Cxas model folder (no {CxasModel.ManifestFileName}): not removed.", full);
            var attributes = File.GetAttributes(full);
            if ((attributes & FileAttributes.ReparsePoint) != 0)
                throw new CxasException(CxasErrorKind.InvalidArgument, $"'{full}' is a link, not a model folder: not removed.", full);
            var hidden = System.IO.Path.Combine(parent, "." + leaf + ".removing-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            try
            {
                System.IO.Directory.Move(full, hidden);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.WriteFailed, $"Cannot remove '{full}': {ex.Message}", full, ex);
            }
            AtomicOutput.TryDelete(hidden);
        }
    }
}
