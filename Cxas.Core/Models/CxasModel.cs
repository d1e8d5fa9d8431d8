namespace Cxas.Models
{
    /// <summary>
    /// A model folder: <c>model.onnx</c> plus <c>model.json</c>. Loading validates both and keeps nothing: each load is a
    /// new value. Inference sessions are not the model's: an owner of sessions (<c>Cxas.Inference.ModelSessions</c>)
    /// makes one per <see cref="Identity"/> and device, and disposes them with itself.
    /// </summary>
    public sealed class CxasModel
    {
        public const string OnnxFileName = "model.onnx";
        public const string ManifestFileName = "model.json";

        public string Directory { get; }
        public ModelManifest Manifest { get; }
        public string Name => Manifest.Name;
        public IReadOnlyList<string> Labels => Manifest.Labels;
        public string OnnxPath => Path.Combine(Directory, OnnxFileName);

        /// <summary>
        /// What makes two loads the same model file: the folder, the ONNX file's size and both files' times. Sessions are
        /// shared by identity, so a model rewritten in place (an import, an install) gets new ones.
        /// </summary>
        public string Identity { get; }

        private CxasModel(string directory, ModelManifest manifest, string identity)
        {
            Directory = directory;
            Manifest = manifest;
            Identity = identity;
        }

        /// <summary>Loads the model in <paramref name="directory"/> (its manifest read and checked).</summary>
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
            return new CxasModel(full, ModelManifest.Load(json), stamp);
        }

        public int IndexOf(string label)
        {
            for (int i = 0; i < Manifest.Labels.Length; i++)
                if (string.Equals(Manifest.Labels[i], label, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }
    }
}
