using System.Runtime.InteropServices;

namespace Cxas.Models
{
    /// <summary>
    /// Model names double as folder names under a models root, and replacing a model deletes that folder, so a name
    /// must never be able to point anywhere else: not empty, not <c>.</c> or <c>..</c>, no separators or characters
    /// that some file system refuses, no Windows device name (con, nul, com1...), not hidden (a leading dot is how
    /// temporary folders are marked), no trailing dot or space, at most <see cref="MaxLength"/> characters.
    /// </summary>
    internal static class ModelNames
    {
        public const int MaxLength = 100;

        /// <summary>
        /// The reference tool's model (UNet_ResNet50_default): the one name the catalog, the importer and the installer all
        /// know, kept here with the other name rules so that the catalog does not have to ask the importer for it.
        /// </summary>
        public const string Reference = "UNet_ResNet50_default";

        private static readonly char[] Forbidden = "<>:\"/\\|?*".ToCharArray();

        private static readonly string[] Reserved =
            new[] { "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$" }
                .Concat(Enumerable.Range(0, 10).SelectMany(i => new[] { "COM" + i, "LPT" + i }))
                .Concat(new[] { "COM\u00b9", "COM\u00b2", "COM\u00b3", "LPT\u00b9", "LPT\u00b2", "LPT\u00b3" })
                .ToArray();

        /// <summary>Why <paramref name="name"/> cannot be a model name, or null when it can.</summary>
        public static string? Problem(string? name)
        {
            if (name == null || name.Length == 0) return "it is empty";
            if (name.Trim().Length == 0) return "it is blank";
            if (name == "." || name == "..") return $"'{name}' names a folder that already exists above or at the destination";
            if (name.Length > MaxLength) return $"it is longer than {MaxLength} characters";
            if (name.IndexOfAny(Forbidden) >= 0) return "it contains a path separator or one of < > : \" | ? *";
            if (name.Any(c => c < 32 || c == 127)) return "it contains a control character";
            if (name.StartsWith(".", StringComparison.Ordinal)) return "it starts with a dot (hidden and temporary folders do)";
            if (name.EndsWith(".", StringComparison.Ordinal) || name.EndsWith(" ", StringComparison.Ordinal) || name.StartsWith(" ", StringComparison.Ordinal))
                return "it starts or ends with a space, or ends with a dot";
            var stem = name.Split('.')[0].TrimEnd(' ');
            if (Reserved.Any(r => string.Equals(r, stem, StringComparison.OrdinalIgnoreCase)))
                return $"'{stem}' is a reserved device name on Windows";
            return null;
        }

        public static bool IsValid(string? name) => Problem(name) == null;

        /// <summary>Throws a <see cref="CxasErrorKind.InvalidArgument"/> error naming the problem.</summary>
        public static string Validate(string? name, string? filePath = null, string? hint = null, CxasRemedy remedy = CxasRemedy.None)
        {
            var problem = Problem(name);
            if (problem != null)
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"'{name}' cannot be a model name: {problem}.{(hint == null ? "" : " " + hint)}", filePath, remedy: remedy);
            return name!;
        }

        /// <summary>
        /// <c>root/name</c> as a full path, after checking the name and that the result is a direct child of the root:
        /// the only folder a run that installs or replaces the model may touch.
        /// </summary>
        public static string ModelDirectory(string root, string name, string? filePath = null, string? hint = null)
        {
            Validate(name, filePath, hint);
            var fullRoot = Path.GetFullPath(root);
            var dir = Path.GetFullPath(Path.Combine(fullRoot, name));
            if (!IsDirectChild(fullRoot, dir))
                throw new CxasException(CxasErrorKind.InvalidArgument, $"'{name}' does not name a folder directly inside '{fullRoot}'.", filePath);
            return dir;
        }

        /// <summary>Whether <paramref name="child"/> is exactly one folder level below <paramref name="parent"/> (full paths).</summary>
        public static bool IsDirectChild(string parent, string child)
        {
            var up = Path.GetDirectoryName(child.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
            return up != null && PathComparer.Equals(Trim(up), Trim(parent));
        }

        private static string Trim(string path) =>
            path.Length > 1 ? path.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) : path;

        internal static StringComparer PathComparer =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX)
                ? StringComparer.OrdinalIgnoreCase
                : StringComparer.Ordinal;
    }
}
