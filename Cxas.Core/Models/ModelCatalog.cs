using System.Runtime.InteropServices;

namespace Cxas.Models
{
    /// <summary>One model folder found by a <see cref="ModelCatalog"/>. Immutable: read whole from the folder.</summary>
    public sealed class ModelCatalogEntry
    {
        public string Name { get; internal init; } = "";
        public string Directory { get; internal init; } = "";
        /// <summary>The root folder it was found in.</summary>
        public string Root { get; internal init; } = "";
        public bool IsDefault { get; internal init; }
        /// <summary>Module (shipped with Cxas), CurrentUser (the per-user folder or a CXAS_MODEL_PATH folder) or AllUsers (the machine-wide folder).</summary>
        public string Scope { get; internal init; } = "";
        public int LabelCount { get; internal init; }
        /// <summary>Where the weights came from: the download URL, or the checkpoint file's name, or empty.</summary>
        public string Source { get; internal init; } = "";
        /// <summary>SHA-256 of the checkpoint the model was imported from (model.json's provenance), or empty.</summary>
        public string Sha256 { get; internal init; } = "";
        /// <summary>Size of the model folder's files in bytes.</summary>
        public long Bytes { get; internal init; }
        public double SizeMB => Math.Round(Bytes / 1048576.0, 1);
        public string? Licence { get; internal init; }
        public string? Version { get; internal init; }
        public string? Architecture { get; internal init; }
        public bool TestOnly { get; internal init; }
        public int InputWidth { get; internal init; }
        public int InputHeight { get; internal init; }
        /// <summary>The manifest, or null when it could not be read (see <see cref="Error"/>). A method, not a property,
        /// so that the entry's properties stay flat values (a CSV of Get-CxasModel has no object-typed column).</summary>
        public ModelManifest? GetManifest() => Manifest;
        internal ModelManifest? Manifest { get; set; }
        public string? Error { get; internal init; }
        public bool IsValid => Manifest != null;
        /// <summary>fp32, int8 or fp16 (model.json's precision).</summary>
        public string Precision => Manifest?.Precision ?? "fp32";
        /// <summary>Int8 models: the weight scheme (U8S7, U8S8, U8U8; see <see cref="Models.Int8Scheme"/>), else null.</summary>
        public string? Int8Scheme => Manifest == null ? null : Int8Portability.SchemeOf(Manifest)?.ToString();
        /// <summary>The processor and instruction class the model's reduced-precision agreement was checked on, when recorded.</summary>
        public string? CheckedOn => Manifest?.Provenance != null && Manifest.Provenance.TryGetValue(Int8Portability.CheckedOnKey, out var on) ? on : null;
        /// <summary>This machine's processor and instruction class (<see cref="CpuClass"/>), e.g. "AMD EPYC (AVX-512 VNNI)".</summary>
        public string ThisCpu => CpuClass.Description;
        /// <summary>Why the model's checked agreement may not hold on this CPU, or null (see <see cref="Int8Portability"/>).</summary>
        public string? PrecisionNote => Manifest == null ? null : Int8Portability.Note(Manifest, CpuClass.Current);
        public override string ToString() => Name;
    }

    /// <summary>
    /// Where models live and which one is the default. Roots, in search order: the module's own <c>models</c> folder,
    /// then the folders in <c>CXAS_MODEL_PATH</c> (path-separator list), or, when that is unset, a per-user folder
    /// (<c>~/.cxas/models</c>; <c>%LOCALAPPDATA%\Cxas\models</c> on Windows). A model is a folder holding
    /// <c>model.json</c>; its name is the manifest's name. The default model is named by <c>default.txt</c> (a folder
    /// name) in the module's models folder.
    /// </summary>
    public sealed class ModelCatalog
    {
        public const string ModelPathVariable = "CXAS_MODEL_PATH";
        public const string DefaultFileName = "default.txt";

        public string? ModuleModelsDirectory { get; }
        /// <summary>Existing or not, in search order, without duplicates.</summary>
        public IReadOnlyList<string> Roots { get; }

        public const string MachineModelPathVariable = "CXAS_MACHINE_MODEL_PATH";
        public const string ScopeModule = "Module", ScopeCurrentUser = "CurrentUser", ScopeAllUsers = "AllUsers";

        /// <summary>The machine-wide folder (AllUsers scope), or null when there is none.</summary>
        public string? MachineModelsDirectory { get; }

        /// <param name="moduleModelsDirectory">the module's own models folder</param>
        /// <param name="otherRoots">the per-user roots (CXAS_MODEL_PATH or the per-user folder)</param>
        /// <param name="machineRoot">the machine-wide folder, searched last</param>
        public ModelCatalog(string? moduleModelsDirectory, IEnumerable<string> otherRoots, string? machineRoot = null)
        {
            ModuleModelsDirectory = string.IsNullOrEmpty(moduleModelsDirectory) ? null : Path.GetFullPath(moduleModelsDirectory);
            MachineModelsDirectory = string.IsNullOrWhiteSpace(machineRoot) ? null : Path.GetFullPath(ExpandHome(machineRoot!.Trim()));
            var roots = new List<string>();
            var comparer = PathComparer;
            void Add(string? root)
            {
                if (string.IsNullOrWhiteSpace(root)) return;
                var full = Path.GetFullPath(ExpandHome(root!.Trim()));
                if (!roots.Contains(full, comparer)) roots.Add(full);
            }
            Add(ModuleModelsDirectory);
            foreach (var r in otherRoots) Add(r);
            Add(MachineModelsDirectory);
            Roots = roots;
        }

        /// <summary>The scope of a root folder: Module, AllUsers or CurrentUser.</summary>
        public string ScopeOf(string root)
        {
            var full = Path.GetFullPath(root);
            if (ModuleModelsDirectory != null && PathComparer.Equals(full, ModuleModelsDirectory)) return ScopeModule;
            if (MachineModelsDirectory != null && PathComparer.Equals(full, MachineModelsDirectory)) return ScopeAllUsers;
            return ScopeCurrentUser;
        }

        /// <summary>The roots models are installed into and removed from (all but the module's own folder).</summary>
        public IReadOnlyList<string> InstallRoots => Roots.Where(r => ScopeOf(r) != ScopeModule).ToList();

        /// <summary>The catalog for this process: the module's folder plus CXAS_MODEL_PATH or the per-user folder.</summary>
        public static ModelCatalog FromEnvironment(string? moduleModelsDirectory) =>
            new ModelCatalog(moduleModelsDirectory, EnvironmentRoots(Environment.GetEnvironmentVariable(ModelPathVariable)), MachineModelsRoot);

        /// <summary>
        /// The machine-wide folder that service accounts can read: %ProgramData%\Cxas\models on Windows,
        /// /usr/local/share/cxas/models elsewhere; CXAS_MACHINE_MODEL_PATH replaces it (tests, custom layouts).
        /// </summary>
        public static string MachineModelsRoot
        {
            get
            {
                var env = Environment.GetEnvironmentVariable(MachineModelPathVariable);
                if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(ExpandHome(env!.Trim()));
                if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                    return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "Cxas", "models");
                return "/usr/local/share/cxas/models";
            }
        }

        /// <summary>CXAS_MODEL_PATH's folders, or the per-user folder when it is unset or empty.</summary>
        public static IReadOnlyList<string> EnvironmentRoots(string? modelPath)
        {
            var parts = (modelPath ?? "").Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Trim()).Where(p => p.Length > 0).ToList();
            return parts.Count > 0 ? parts : new List<string> { UserModelsDirectory };
        }

        /// <summary>~/.cxas/models, or %LOCALAPPDATA%\Cxas\models on Windows.</summary>
        public static string UserModelsDirectory
        {
            get
            {
                if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                {
                    var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
                    return Path.Combine(local, "Cxas", "models");
                }
                return Path.Combine(HomeDirectory, ".cxas", "models");
            }
        }

        /// <summary>Where a new model goes by default: the first CXAS_MODEL_PATH folder, else the per-user folder.</summary>
        public static string DefaultImportRoot => EnvironmentRoots(Environment.GetEnvironmentVariable(ModelPathVariable))[0];

        internal static string HomeDirectory
        {
            get
            {
                var home = Environment.GetEnvironmentVariable("HOME");
                return string.IsNullOrEmpty(home) ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) : home!;
            }
        }

        private static string ExpandHome(string path) =>
            path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal)
                ? HomeDirectory + path.Substring(1)
                : path;

        private static StringComparer PathComparer => ModelNames.PathComparer;

        /// <summary>The folder name in the module's default.txt, or null.</summary>
        public string? DefaultModelName
        {
            get
            {
                if (ModuleModelsDirectory == null) return null;
                var file = Path.Combine(ModuleModelsDirectory, DefaultFileName);
                try
                {
                    if (!File.Exists(file)) return null;
                    var line = File.ReadAllLines(file).Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith("#", StringComparison.Ordinal));
                    return string.IsNullOrEmpty(line) ? null : line;
                }
                catch (IOException) { return null; }
                catch (UnauthorizedAccessException) { return null; }
            }
        }

        /// <summary>Every model folder under the roots (one level deep), earlier roots first.</summary>
        public IReadOnlyList<ModelCatalogEntry> List()
        {
            var result = new List<ModelCatalogEntry>();
            var defaultName = DefaultModelName;
            bool defaultMarked = false;
            foreach (var root in Roots)
            {
                if (!Directory.Exists(root)) continue;
                string[] dirs;
                try { dirs = Directory.GetDirectories(root); }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                foreach (var dir in dirs.OrderBy(d => Path.GetFileName(d), StringComparer.OrdinalIgnoreCase))
                {
                    var folderName = Path.GetFileName(dir);
                    if (folderName.StartsWith(".", StringComparison.Ordinal)) continue; // temporary / hidden folders
                    if (!File.Exists(Path.Combine(dir, CxasModel.ManifestFileName))) continue;
                    bool isDefault = !defaultMarked && defaultName != null && ModuleModelsDirectory != null
                        && PathComparer.Equals(root, ModuleModelsDirectory)
                        && string.Equals(folderName, defaultName, StringComparison.OrdinalIgnoreCase);
                    defaultMarked |= isDefault;
                    result.Add(Describe(dir, root, ScopeOf(root), isDefault));
                }
            }
            return result;
        }

        /// <summary>Reads one model folder's manifest into an entry (errors are recorded, not thrown).</summary>
        public static ModelCatalogEntry Describe(string directory, string root) => Describe(directory, root, "", false);

        /// <summary>An entry with its scope and default mark. The manifest and the folder's size are read first (a failure
        /// becomes the entry's Error), then the entry is built whole.</summary>
        internal static ModelCatalogEntry Describe(string directory, string root, string scope, bool isDefault)
        {
            ModelManifest? manifest = null;
            long bytes = 0;
            string? error = null;
            try
            {
                manifest = ModelManifest.Load(Path.Combine(directory, CxasModel.ManifestFileName));
                bytes = Directory.GetFiles(directory).Sum(f => new FileInfo(f).Length);
                if (!File.Exists(Path.Combine(directory, CxasModel.OnnxFileName))) error = $"{CxasModel.OnnxFileName} is missing.";
            }
            catch (CxasException ex)
            {
                error = ex.Message;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                error = ex.Message;
            }
            var provenance = manifest?.Provenance;
            return new ModelCatalogEntry
            {
                Directory = Path.GetFullPath(directory), Root = root, Scope = scope, IsDefault = isDefault,
                Name = manifest?.Name ?? Path.GetFileName(directory),
                Manifest = manifest,
                LabelCount = manifest?.Labels.Length ?? 0,
                Licence = manifest?.Licence,
                Version = manifest?.Version,
                Architecture = manifest?.Architecture,
                TestOnly = manifest?.TestOnly ?? false,
                InputWidth = manifest?.Input.Width ?? 0,
                InputHeight = manifest?.Input.Height ?? 0,
                Source = provenance == null ? "" : provenance.TryGetValue("sourceUrl", out var url) ? url
                    : provenance.TryGetValue("source", out var src) ? src : "",
                Sha256 = provenance != null && provenance.TryGetValue("sourceSha256", out var sha) ? sha : "",
                Bytes = bytes,
                Error = error,
            };
        }

        /// <summary>
        /// The folder of a model given by name (manifest name or folder name, case-insensitive; first root wins) or by
        /// the path of a model folder; null or empty means the default model.
        /// </summary>
        public string ResolveDirectory(string? nameOrPath)
        {
            if (string.IsNullOrWhiteSpace(nameOrPath))
            {
                var def = DefaultModelName;
                if (def == null || ModuleModelsDirectory == null)
                    throw new CxasException(CxasErrorKind.NotFound,
                        "No default model is set (no default.txt in the module's models folder); the models found are in " +
                        string.Join(", ", Roots) + ".", remedy: CxasRemedy.NameModel);
                var dir = Path.Combine(ModuleModelsDirectory, def);
                if (!File.Exists(Path.Combine(dir, CxasModel.ManifestFileName)))
                    throw new CxasException(CxasErrorKind.NotFound, $"The default model '{def}' (default.txt) has no folder with model.json in '{ModuleModelsDirectory}'.", dir);
                return dir;
            }
            var text = nameOrPath!.Trim();
            bool looksLikePath = text.IndexOfAny(new[] { '/', '\\' }) >= 0 || text.StartsWith(".", StringComparison.Ordinal) || text.StartsWith("~", StringComparison.Ordinal);
            var asPath = Path.GetFullPath(ExpandHome(text));
            if (looksLikePath || Path.IsPathRooted(text))
            {
                if (File.Exists(Path.Combine(asPath, CxasModel.ManifestFileName))) return asPath;
                throw new CxasException(CxasErrorKind.NotFound, $"'{asPath}' is not a model folder (no {CxasModel.ManifestFileName}).", asPath);
            }

            // A bare name: the catalog first, then a model folder of that name in the current directory.
            var entries = List();
            var match = entries.FirstOrDefault(e => e.IsValid && string.Equals(e.Name, text, StringComparison.OrdinalIgnoreCase))
                        ?? entries.FirstOrDefault(e => string.Equals(Path.GetFileName(e.Directory), text, StringComparison.OrdinalIgnoreCase));
            if (match == null && File.Exists(Path.Combine(asPath, CxasModel.ManifestFileName))) return asPath;
            if (match == null && string.Equals(text, ModelNames.Reference, StringComparison.OrdinalIgnoreCase))
            {
                // A copy the reference tool downloaded is offered by name: installing it needs no download.
                var local = ReferenceToolCheckpoints().FirstOrDefault();
                throw new CxasException(CxasErrorKind.NotFound,
                    $"The reference model '{ModelNames.Reference}' is not installed (searched {string.Join(", ", Roots)}). " +
                    "Cxas never downloads it by itself" +
                    (local != null ? $"; the reference tool's own download is at '{local}', which installs without downloading." : "."),
                    local, remedy: CxasRemedy.InstallReferenceModel);
            }
            if (match == null)
            {
                var known = entries.Count == 0 ? "none" : string.Join(", ", entries.Select(e => e.Name).Distinct());
                throw new CxasException(CxasErrorKind.NotFound,
                    $"No model named '{text}' in {string.Join(", ", Roots)} (models found: {known}).");
            }
            if (!match.IsValid)
                throw new CxasException(CxasErrorKind.InvalidModel, $"Model '{text}' in '{match.Directory}' is not usable: {match.Error}", match.Directory);
            return match.Directory;
        }

        /// <summary>
        /// Checkpoints the reference tool itself left behind (it downloads to ~/.cxas/weights, or under
        /// $CXAS_PATH/.cxas/weights): the catalog names one when the reference model is asked for but not installed,
        /// and the installer (<c>ModelSources</c>) installs from them without downloading again.
        /// </summary>
        internal static IReadOnlyList<string> ReferenceToolCheckpoints()
        {
            var file = ModelNames.Reference + ".pth";
            var folders = new List<string>();
            var cxasPath = Environment.GetEnvironmentVariable("CXAS_PATH");
            if (!string.IsNullOrWhiteSpace(cxasPath)) folders.Add(Path.Combine(cxasPath!, ".cxas", "weights"));
            var home = HomeDirectory;
            if (!string.IsNullOrEmpty(home)) folders.Add(Path.Combine(home, ".cxas", "weights"));
            return folders.Select(f => Path.Combine(f, file)).Where(File.Exists).Select(Path.GetFullPath).Distinct().ToList();
        }

        /// <summary>Loads the model a -Model argument names (see <see cref="ResolveDirectory"/>).</summary>
        public CxasModel Resolve(string? nameOrPath) => CxasModel.Load(ResolveDirectory(nameOrPath));
    }
}
