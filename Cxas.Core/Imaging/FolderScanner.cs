using System.Reflection;

namespace Cxas.Imaging
{
    /// <summary>An input file and, when it was found by scanning a folder, its path below that folder.</summary>
    public sealed class InputFile
    {
        public InputFile(string path, string? relativePath = null)
        {
            Path = path;
            RelativePath = relativePath;
        }

        /// <summary>
        /// An input that is not a local file (a DICOMweb or DIMSE instance): <paramref name="path"/> is its URI and
        /// <paramref name="load"/> fetches it and decodes it with the reader configuration it is handed (the run's); the
        /// segmentation queue calls it in its decode step.
        /// </summary>
        public InputFile(string path, string? relativePath, Func<ImageReaderConfiguration, SourceImage> load) : this(path, relativePath)
        {
            Load = load ?? throw new ArgumentNullException(nameof(load));
        }

        /// <summary>An input that is not a local file, decoded by <paramref name="load"/> whatever the run's readers are.</summary>
        public InputFile(string path, string? relativePath, Func<SourceImage> load)
            : this(path, relativePath, load == null ? throw new ArgumentNullException(nameof(load)) : _ => load()) { }

        public string Path { get; }
        /// <summary>'/'-separated path below the scanned folder, file name last; null for a file named on its own.</summary>
        public string? RelativePath { get; }
        /// <summary>How to obtain the image, given the run's readers, when it is not a file they read; null for files.</summary>
        public Func<ImageReaderConfiguration, SourceImage>? Load { get; }
        public override string ToString() => Path;
    }

    /// <summary>
    /// Finds the image files in a folder tree, lazily, in a fixed order, and without ever blocking or looping:
    /// <list type="number">
    /// <item>Each folder is listed once and its entries taken in ordinal name order (a folder sorts as its name plus '/',
    /// so the order is that of the full paths); files stream out as they are found, subfolders are entered in place
    /// (depth first), so memory grows with the largest folder, not with the tree.</item>
    /// <item>Hidden entries (names starting with '.', and entries marked hidden on Windows) are skipped: they include
    /// Cxas's own temporaries. Each folder's count of them is reported through the note callback.</item>
    /// <item>A file is taken when its extension belongs to a reader of <see cref="Readers"/>; an extension-less file when it is not
    /// empty and its content is recognised (DICOM archives often have no extension). Empty files are never opened, which
    /// also keeps FIFOs and devices (size 0) from blocking the scan.</item>
    /// <item>Links to folders are not followed unless asked (as Get-ChildItem). When they are, every folder is keyed by its
    /// link-resolved path and entered at most once, so a link loop (<c>sub/loop → ..</c>) ends. Following needs .NET 6 or
    /// later (PowerShell 7); on older runtimes links are reported and skipped.</item>
    /// </list>
    /// </summary>
    public sealed class FolderScanner
    {
        private static readonly MethodInfo? ResolveLinkTarget =
            typeof(FileSystemInfo).GetMethod("ResolveLinkTarget", new[] { typeof(bool) });

        /// <summary>The readers whose extensions and recognisers decide what is an image.</summary>
        public ImageReaderConfiguration Readers { get; set; } = ImageReaderConfiguration.Default;
        public bool Recurse { get; set; }
        public bool FollowLinks { get; set; }
        /// <summary>Receives notes on what was skipped and why (the cmdlets write them as verbose messages).</summary>
        public Action<string>? Note { get; set; }
        /// <summary>Receives each folder link not followed (<see cref="FollowLinks"/> is off).</summary>
        public Action<string>? LinkSkipped { get; set; }

        /// <summary>Whether following folder links is possible on this runtime.</summary>
        public static bool CanFollowLinks => ResolveLinkTarget != null;

        public IEnumerable<InputFile> Scan(string folder)
        {
            var root = new DirectoryInfo(Path.GetFullPath(folder));
            var visited = new HashSet<string>(OperatingSystemIsWindows ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
            var known = Readers.KnownExtensions;
            var stack = new Stack<IEnumerator<(FileSystemInfo Entry, string Relative, string Key)>>();
            var rootKey = Canonical(root) ?? root.FullName;
            visited.Add(rootKey);
            stack.Push(List(root, "", rootKey).GetEnumerator());
            try
            {
                while (stack.Count > 0)
                {
                    var current = stack.Peek();
                    if (!current.MoveNext())
                    {
                        current.Dispose();
                        stack.Pop();
                        continue;
                    }
                    var (entry, relative, key) = current.Current;
                    if (entry is DirectoryInfo dir)
                    {
                        if (!Recurse) continue;
                        bool isLink = (dir.Attributes & FileAttributes.ReparsePoint) != 0;
                        if (isLink)
                        {
                            if (!FollowLinks) { LinkSkipped?.Invoke(dir.FullName); continue; }
                            if (!CanFollowLinks) { Note?.Invoke($"Cannot follow the folder link '{dir.FullName}' on this runtime; skipped."); continue; }
                            key = Canonical(dir) ?? key;
                        }
                        if (!visited.Add(key)) { Note?.Invoke($"Skipped '{dir.FullName}': the folder '{key}' was already scanned."); continue; }
                        stack.Push(List(dir, relative + "/", key).GetEnumerator());
                    }
                    else if (entry is FileInfo file && IsImageCandidate(file, known))
                    {
                        yield return new InputFile(file.FullName, relative);
                    }
                }
            }
            finally
            {
                while (stack.Count > 0) stack.Pop().Dispose();
            }
        }

        private static bool OperatingSystemIsWindows => Path.DirectorySeparatorChar == '\\';

        /// <summary>A folder's visible entries in full-path order, each with its relative path and its key for the visited set.</summary>
        private IEnumerable<(FileSystemInfo, string, string)> List(DirectoryInfo dir, string prefix, string key)
        {
            FileSystemInfo[] entries;
            try { entries = dir.GetFileSystemInfos(); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                Note?.Invoke($"Cannot list '{dir.FullName}': {ex.Message}");
                yield break;
            }
            int hidden = 0;
            var visible = new List<FileSystemInfo>(entries.Length);
            foreach (var e in entries)
            {
                if (e.Name.StartsWith(".", StringComparison.Ordinal) || (OperatingSystemIsWindows && (e.Attributes & FileAttributes.Hidden) != 0)) hidden++;
                else visible.Add(e);
            }
            if (hidden > 0) Note?.Invoke($"Skipped {hidden} hidden entr{(hidden == 1 ? "y" : "ies")} (names starting with '.') in '{dir.FullName}'.");
            foreach (var e in visible.OrderBy(e => e is DirectoryInfo ? e.Name + "/" : e.Name, StringComparer.Ordinal))
                yield return (e, prefix + e.Name, key + Path.DirectorySeparatorChar + e.Name);
        }

        private bool IsImageCandidate(FileInfo file, ISet<string> known)
        {
            if (known.Contains(file.Extension)) return true;
            if (file.Extension.Length != 0) return false;
            try
            {
                return file.Length > 0 && Readers.Identify(file.FullName) != null;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return false; }
        }

        /// <summary>The fully link-resolved path of a folder, where the runtime can tell it.</summary>
        private static string? Canonical(DirectoryInfo dir)
        {
            if (ResolveLinkTarget == null || (dir.Attributes & FileAttributes.ReparsePoint) == 0) return dir.FullName.TrimEnd(Path.DirectorySeparatorChar);
            try
            {
                var target = ResolveLinkTarget.Invoke(dir, new object[] { true }) as FileSystemInfo;
                return target == null ? null : Path.GetFullPath(target.FullName).TrimEnd(Path.DirectorySeparatorChar);
            }
            catch (TargetInvocationException) { return null; }
        }
    }
}
