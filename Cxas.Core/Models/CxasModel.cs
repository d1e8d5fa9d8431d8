using System.Collections.Concurrent;

namespace Cxas.Models
{
    /// <summary>
    /// A model folder: <c>model.onnx</c> plus <c>model.json</c>. Loading validates both; inference sessions are
    /// created per device on first use and shared by every caller in the process (<c>Cxas.Inference.ModelSessions</c>).
    /// </summary>
    public sealed class CxasModel
    {
        public const string OnnxFileName = "model.onnx";
        public const string ManifestFileName = "model.json";

        private static readonly ConcurrentDictionary<string, CxasModel> Loaded = new ConcurrentDictionary<string, CxasModel>(StringComparer.Ordinal);

        public string Directory { get; }
        public ModelManifest Manifest { get; }
        public string Name => Manifest.Name;
        public IReadOnlyList<string> Labels => Manifest.Labels;
        public string OnnxPath => Path.Combine(Directory, OnnxFileName);

        private CxasModel(string directory, ModelManifest manifest)
        {
            Directory = directory;
            Manifest = manifest;
        }

        /// <summary>Loads (or returns the already loaded) model in <paramref name="directory"/>.</summary>
        public static CxasModel Load(string directory)
        {
            var full = Path.GetFullPath(directory);
            var onnx = Path.Combine(full, OnnxFileName);
            var json = Path.Combine(full, ManifestFileName);
            if (!System.IO.Directory.Exists(full))
                throw new CxasException(CxasErrorKind.NotFound, $"Model folder '{full}' does not exist.", full);
            if (!File.Exists(json))
                throw new CxasException(CxasErrorKind.InvalidModel, $"Model folder '{full}' has no {ManifestFileName}.", full);
            if (!File.Exists(onnx))
                throw new CxasException(CxasErrorKind.InvalidModel, $"Model folder '{full}' has no {OnnxFileName}.", full);
            var stamp = $"{full}|{File.GetLastWriteTimeUtc(onnx).Ticks}|{File.GetLastWriteTimeUtc(json).Ticks}|{new FileInfo(onnx).Length}";
            return Loaded.GetOrAdd(stamp, _ => new CxasModel(full, ModelManifest.Load(json)));
        }

        public int IndexOf(string label)
        {
            for (int i = 0; i < Manifest.Labels.Length; i++)
                if (string.Equals(Manifest.Labels[i], label, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }
    }
}
