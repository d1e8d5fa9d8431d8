using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Cxas.IO;
using Cxas.Models;
using Microsoft.ML.OnnxRuntime;

namespace Cxas.Inference
{
    /// <summary>
    /// ONNX Runtime's optimised graph of a model, kept per user so that later runs skip graph optimisation (constant
    /// folding, fusions, QDQ to integer kernels, the NCHWc layout for this CPU's vector width):
    ///   key   = SHA-256 of the model file's full path, length and last write time, the ONNX Runtime version and the
    ///           instruction class (<see cref="CpuClass"/>): the optimised graph holds layout nodes for this CPU only;
    ///   entry = the folder &lt;cache&gt;/&lt;16 hex of the path&gt;-&lt;class&gt;-&lt;16 hex of the key&gt;/ holding model.onnx (the
    ///           graph) and model.data (its weights as external initializers, which ONNX Runtime maps into memory when a
    ///           session is made from the entry: a 293 MB model's weights are then neither read into the heap nor
    ///           parsed on every run). ONNX Runtime writes both into a temporary folder while the first session is
    ///           made; the folder is renamed into place whole, so an entry never lacks its weights (another process
    ///           may win the rename: both are equal). Older entries of the same model path and class are removed then,
    ///           and so are single-file entries of earlier versions.
    /// The cache lives in ~/.cxas/cache (%LOCALAPPDATA%\Cxas\cache on Windows) or <c>CXAS_CACHE_PATH</c>; "off" there
    /// turns it off. It never writes beside the model, so a model stays one folder a user can copy; a changed, moved or
    /// touched model file, another ONNX Runtime or another CPU class simply gets a new entry.
    /// </summary>
    internal static class OptimizedModelCache
    {
        public const string PathVariable = "CXAS_CACHE_PATH";

        /// <summary>The cache folder, or null when CXAS_CACHE_PATH is "off".</summary>
        public static string? Directory
        {
            get
            {
                var env = Environment.GetEnvironmentVariable(PathVariable)?.Trim();
                if (string.Equals(env, "off", StringComparison.OrdinalIgnoreCase)) return null;
                if (!string.IsNullOrEmpty(env)) return Path.GetFullPath(env!);
                if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                    return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "Cxas", "cache");
                return Path.Combine(ModelCatalog.HomeDirectory, ".cxas", "cache");
            }
        }

        private const string GraphFile = "model.onnx";
        private const string WeightsFile = "model.data";

        /// <summary>
        /// The cached graph (model.onnx in its entry folder) in <paramref name="dir"/> for a model file and ONNX Runtime
        /// version (it may not exist yet); null when dir is.
        /// </summary>
        public static string? PathFor(string onnxPath, string ortVersion, string? dir)
        {
            if (dir == null) return null;
            var file = new FileInfo(Path.GetFullPath(onnxPath));
            var key = string.Join("|", file.FullName, file.Length, file.LastWriteTimeUtc.Ticks, ortVersion, CpuClass.Current);
            return Path.Combine(dir, PathPrefix(file.FullName) + Hex(key), GraphFile);
        }

        /// <summary>
        /// Makes a session for <paramref name="onnxPath"/>: from the cached optimised graph when there is one (with ONNX
        /// Runtime's own optimisation off), else from the model, saving the optimised graph for the next run.
        /// <paramref name="makeOptions"/> gives fresh options each time it is called. A cache that cannot be read or
        /// written is passed over (and a damaged file removed): the cache only ever saves time.
        /// </summary>
        public static InferenceSessionResult Create(string onnxPath, string ortVersion, Func<SessionOptions> makeOptions) =>
            Create(onnxPath, ortVersion, makeOptions, Directory);

        /// <summary>As <see cref="Create(string, string, Func{SessionOptions})"/> with the cache in <paramref name="dir"/> (null: none).</summary>
        public static InferenceSessionResult Create(string onnxPath, string ortVersion, Func<SessionOptions> makeOptions, string? dir)
        {
            var cached = PathFor(onnxPath, ortVersion, dir);
            if (cached != null && File.Exists(cached))
            {
                using var options = makeOptions();
                options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
                try
                {
                    var fromCache = new InferenceSession(cached, options);
                    // Its write time marks it recently used, for the pruning below.
                    try { File.SetLastWriteTimeUtc(cached, DateTime.UtcNow); }
                    catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
                    return new InferenceSessionResult(fromCache, cached, fromCache: true);
                }
                catch (OnnxRuntimeException) { AtomicOutput.TryDelete(Path.GetDirectoryName(cached)!); }
            }

            // The entry is written into <entry>.<random>.tmp/ and renamed into place whole.
            string? entry = cached == null ? null : Path.GetDirectoryName(cached)!;
            string? temp = null;
            if (entry != null)
            {
                try
                {
                    temp = entry + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp";
                    System.IO.Directory.CreateDirectory(temp);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { temp = null; }
            }
            InferenceSession session;
            using (var options = makeOptions())
            {
                if (temp != null)
                {
                    options.OptimizedModelFilePath = Path.Combine(temp, GraphFile);
                    options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", WeightsFile);
                }
                try { session = new InferenceSession(onnxPath, options); }
                catch
                {
                    if (temp != null) AtomicOutput.TryDelete(temp);
                    throw;
                }
            }
            if (temp == null) return new InferenceSessionResult(session, null, fromCache: false);
            var folder = Path.GetDirectoryName(entry)!;
            try
            {
                // Older entries for this model path (an earlier file, ONNX Runtime or CPU) go; then this one takes its place.
                var prefix = PathPrefix(Path.GetFullPath(onnxPath));
                foreach (var old in System.IO.Directory.GetFileSystemEntries(folder, prefix + "*"))
                    if (!string.Equals(old, entry, StringComparison.Ordinal) && !old.EndsWith(".tmp", StringComparison.Ordinal)) AtomicOutput.TryDelete(old);
                if (File.Exists(Path.Combine(temp, GraphFile)) && !System.IO.Directory.Exists(entry)) System.IO.Directory.Move(temp, entry);
                else AtomicOutput.TryDelete(temp);
                Prune(folder);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { AtomicOutput.TryDelete(temp); }
            return new InferenceSessionResult(session, File.Exists(cached) ? cached : null, fromCache: false);
        }

        /// <summary>Most entries kept, and most bytes: the least recently used beyond either go.</summary>
        public const int MaxEntries = 16;
        public const long MaxBytes = 2L << 30;

        /// <summary>
        /// Entry folders by their graph's write time (the last use), newest first, with their bytes; single-file entries
        /// of earlier versions count as entries; a temporary folder an hour old was left by a process that died.
        /// </summary>
        private static void Prune(string dir)
        {
            var root = new DirectoryInfo(dir);
            var entries = new List<(string Path, DateTime Used, long Bytes)>();
            foreach (var d in root.GetDirectories())
            {
                if (d.Name.EndsWith(".tmp", StringComparison.Ordinal))
                {
                    if (d.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-1)) AtomicOutput.TryDelete(d.FullName);
                    continue;
                }
                var files = d.GetFiles();
                var graph = files.FirstOrDefault(f => f.Name == GraphFile);
                entries.Add((d.FullName, graph?.LastWriteTimeUtc ?? DateTime.MinValue, files.Sum(f => f.Length)));
            }
            entries.AddRange(root.GetFiles("*.onnx").Select(f => (f.FullName, f.LastWriteTimeUtc, f.Length)));
            long total = 0;
            int kept = 0;
            foreach (var e in entries.OrderByDescending(e => e.Used))
            {
                total += e.Bytes;
                if (++kept > MaxEntries || total > MaxBytes) AtomicOutput.TryDelete(e.Path);
            }
        }

        /// <summary>
        /// "&lt;16 hex of the path&gt;-&lt;class&gt;-": entries are replaced per model path and instruction class, so machines of
        /// different classes sharing one home folder keep one entry each instead of replacing each other's.
        /// </summary>
        private static string PathPrefix(string fullPath) =>
            Hex(fullPath) + "-" + new string(CpuClass.Current.ToLowerInvariant().Select(ch => char.IsLetterOrDigit(ch) ? ch : '_').ToArray()) + "-";

        private static string Hex(string text)
        {
            using var sha = SHA256.Create();
            return string.Concat(sha.ComputeHash(Encoding.UTF8.GetBytes(text)).Take(8).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    /// <summary>A session and where its graph came from.</summary>
    internal sealed class InferenceSessionResult
    {
        public InferenceSessionResult(InferenceSession session, string? cacheFile, bool fromCache)
        {
            Session = session; CacheFile = cacheFile; FromCache = fromCache;
        }

        public InferenceSession Session { get; }
        /// <summary>The cached graph used or written (model.onnx in its entry folder, beside model.data), or null (cache off or not writable).</summary>
        public string? CacheFile { get; }
        /// <summary>True when the session was made from the cached optimised graph.</summary>
        public bool FromCache { get; }
    }
}
