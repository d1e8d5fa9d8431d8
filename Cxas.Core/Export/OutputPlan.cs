using System.Text;
using Cxas.IO;

namespace Cxas.Export
{
    /// <summary>One input's place in an output folder: its base name and the outputs each format writes there.</summary>
    public sealed class PlannedInput
    {
        internal PlannedInput(OutputPlan plan, string inputPath, string relativeBase, bool recorded)
        {
            Plan = plan;
            InputPath = inputPath;
            RelativeBase = relativeBase;
            Recorded = recorded;
        }

        public OutputPlan Plan { get; }
        /// <summary>The input's full path (its identity in the plan).</summary>
        public string InputPath { get; }
        /// <summary>Base name below the output folder, components joined with '/': "IM0001", "series1/IM0001".</summary>
        public string RelativeBase { get; }
        /// <summary>Whether the plan's journal holds this input's name (so existing outputs there are this input's own).</summary>
        public bool Recorded { get; internal set; }

        /// <summary>The file or folder <paramref name="format"/> writes for this input.</summary>
        public string TargetFor(MaskFormat format)
        {
            var full = Path.Combine(Plan.OutputDirectory, RelativeBase.Replace('/', Path.DirectorySeparatorChar));
            var writer = Plan.Writers.Of(format);
            return writer is RunFileWriter run ? Path.Combine(Plan.OutputDirectory, run.FileName) : full + writer.Suffix;
        }

        public override string ToString() => RelativeBase;
    }

    /// <summary>
    /// Where every input's outputs go in one output folder, decided before anything is written, so that no two inputs
    /// share an output and nothing outside the planned paths is ever touched, whatever the input names are.
    /// <list type="number">
    /// <item>An input found by scanning a folder keeps its place below that folder (<c>in/a/b/IM1</c> → <c>&lt;out&gt;/a/b/IM1</c>);
    /// an input named on its own goes to the top (<c>&lt;out&gt;/IM1</c>): the reference's flat layout.</item>
    /// <item>The last component is the input's stem (file name without extension); every component is made safe by
    /// <see cref="SafeName"/>.</item>
    /// <item>A name is taken when any output it implies (<c>base</c>, <c>base.npy</c>, <c>base.npz</c>, <c>base.seg.dcm</c>,
    /// compared without regard to case) belongs to another input of this run or of an earlier run (the journal), to a
    /// folder of the mirrored tree, or to the run's COCO file. A taken stem gives way to the whole file name
    /// (<c>twin.png</c>, <c>twin.jpg</c>), then to the stem with <c>~</c> and 8 hex digits of the SHA-256 of the input's
    /// full path; a mirrored folder whose name is taken gets the same suffix from the folder's full path.</item>
    /// <item>With a journal (<see cref="JournalFileName"/> in the output folder, one line "base TAB input path" per input),
    /// each input's name is recorded before its first output is written. A rerun therefore finds the same names, knows
    /// which existing outputs are its own (finished inputs can be skipped), and never hands a name to another input.
    /// Journal lines whose base is not a safe relative name are ignored.</item>
    /// </list>
    /// </summary>
    public sealed class OutputPlan : IDisposable
    {
        public const string JournalFileName = ".cxas-plan.tsv";

        private static readonly StringComparer NameComparer = StringComparer.OrdinalIgnoreCase;

        private readonly Dictionary<string, string> _baseOf = new Dictionary<string, string>(StringComparer.Ordinal);
        private readonly HashSet<string> _recorded = new HashSet<string>(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _ownerOf = new Dictionary<string, string>(NameComparer);
        private readonly HashSet<string> _treeFolders = new HashSet<string>(NameComparer);
        private readonly Dictionary<string, string> _plannedFolder = new Dictionary<string, string>(StringComparer.Ordinal);
        private readonly HashSet<string> _prepared = new HashSet<string>(StringComparer.Ordinal);
        private readonly string? _journalPath;
        private StreamWriter? _journal;

        /// <param name="outputDirectory">The output folder.</param>
        /// <param name="useJournal">Keep the journal in the output folder (the cmdlets do; plain library use need not).</param>
        /// <param name="writers">The formats whose names the plan keeps apart (the configuration's; the built-in ones when null).</param>
        public OutputPlan(string outputDirectory, bool useJournal, MaskWriters? writers = null)
        {
            Writers = writers ?? MaskWriters.Default;
            OutputDirectory = Path.GetFullPath(outputDirectory);
            _ownerOf[MaskExporter.CocoFileName] = "";
            if (!useJournal) return;
            _journalPath = Path.Combine(OutputDirectory, JournalFileName);
            LoadJournal();
        }

        public string OutputDirectory { get; }

        /// <summary>The formats of this plan's configuration: every output they may write for an input is kept apart.</summary>
        public MaskWriters Writers { get; }

        /// <summary>
        /// Every name the formats may give one input's outputs (its base name with what each per-input format adds: "" for
        /// the folder formats' folder). Read from <see cref="Writers"/> at each use, so a format registered on the
        /// configuration after the plan was made is kept apart too.
        /// </summary>
        private IEnumerable<string> OutputNames(string relativeBase) =>
            Writers.All.Where(w => w.Layout != MaskLayout.FilePerRun).Select(w => w.Suffix).Distinct().Select(suffix => relativeBase + suffix);

        /// <summary>The largest journal a run reads (about 300,000 inputs); a larger one is an error, never read.</summary>
        public const long MaxJournalBytes = 64L << 20;
        // A journal line is a safe relative name (a few components of at most 255 bytes) and a path: longer ones are damage.
        private const int MaxJournalLine = 16 << 10;
        private bool _journalUnusable;

        /// <summary>The journal must be the regular file a run writes: a link (which could point anywhere) or a folder
        /// in its place is an error, whether the run is reading it or about to append to it.</summary>
        private void RefuseJournalLinkOrFolder()
        {
            if (AtomicOutput.IsLinkOrFolder(_journalPath!))
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"The output plan '{_journalPath}' is a link or a folder, not the journal a run keeps; it is not followed. Remove it to plan the folder afresh.", _journalPath);
        }

        // The journal is read only when it is a regular file of bounded size: a link (which could lead anywhere) is an
        // error, an entry of length 0 (empty, or a FIFO or device, which report 0) is never opened and is rebuilt at the
        // first record, and one over MaxJournalBytes is an error. Reading streams it line by line; damaged lines are ignored.
        private void LoadJournal()
        {
            var path = _journalPath!;
            RefuseJournalLinkOrFolder();
            var info = new FileInfo(path);
            if (!info.Exists) return;
            if (info.Length == 0) { _journalUnusable = true; return; }
            if (info.Length > MaxJournalBytes) throw TooLarge(path, info.Length);
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
                var line = new MemoryStream();
                var buffer = new byte[1 << 16];
                long total = 0;
                bool overlong = false;
                int n;
                while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    total += n;
                    if (total > MaxJournalBytes) throw TooLarge(path, total);
                    int start = 0;
                    for (int i = 0; i < n; i++)
                    {
                        if (buffer[i] != (byte)'\n') continue;
                        if (!overlong) { line.Write(buffer, start, i - start); Accept(Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length)); }
                        line.SetLength(0);
                        overlong = false;
                        start = i + 1;
                    }
                    // The rest is a line not yet ended (or one a killed run left unfinished: it is never accepted).
                    if (!overlong) line.Write(buffer, start, n - start);
                    if (line.Length > MaxJournalLine) { overlong = true; line.SetLength(0); }
                }
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.WriteFailed, $"Cannot read the output plan '{path}': {ex.Message}", path, ex);
            }
        }

        private static CxasException TooLarge(string path, long length) =>
            new CxasException(CxasErrorKind.LimitExceeded,
                $"The output plan '{path}' holds {length} bytes, more than the {MaxJournalBytes >> 20} MiB a journal may have (about 300,000 inputs); it was not read. " +
                "Write further runs into a new output folder, or remove the journal to plan the folder afresh (its outputs are then no longer resumed).", path);

        private void Accept(string line)
        {
            int tab = line.IndexOf('\t');
            if (tab <= 0 || tab == line.Length - 1) return;
            var relativeBase = line.Substring(0, tab);
            var input = line.Substring(tab + 1);
            if (!IsSafeRelative(relativeBase) || _baseOf.ContainsKey(input) || !IsFree(relativeBase, input)) return;
            Claim(relativeBase, input);
            _recorded.Add(input);
        }

        private static bool IsSafeRelative(string relativeBase) =>
            relativeBase.Split('/').All(part => part.Length > 0 && SafeName.Make(part) == part);

        /// <summary>
        /// The place of one input: <paramref name="relativePath"/> is its path below the folder it was found in
        /// ('/'-separated, file name last), or null when it was named on its own. The same input always gets the same place.
        /// </summary>
        public PlannedInput Plan(string inputPath, string? relativePath)
        {
            bool remote = IsRemote(inputPath);
            var key = remote ? inputPath : Path.GetFullPath(inputPath);
            if (_baseOf.TryGetValue(key, out var known)) return new PlannedInput(this, key, known, _recorded.Contains(key));

            // A DICOMweb instance (an http/https URI) is named by its last segment, the SOP Instance UID, taken whole.
            var folder = remote ? "" : PlanFolder(key, relativePath);
            var fileName = remote ? Uri.UnescapeDataString(key.TrimEnd('/').Substring(key.TrimEnd('/').LastIndexOf('/') + 1)) : Path.GetFileName(key);
            var stem = SafeName.Make(remote ? fileName : Path.GetFileNameWithoutExtension(fileName));
            var candidates = new[]
            {
                stem,
                SafeName.Make(fileName),
                SafeName.Shorten(stem, SafeName.MaxBytes - 9) + "~" + SafeName.Hash8(key),
            };
            foreach (var leaf in candidates)
            {
                var relativeBase = folder.Length == 0 ? leaf : folder + "/" + leaf;
                if (!IsFree(relativeBase, key)) continue;
                Claim(relativeBase, key);
                return new PlannedInput(this, key, relativeBase, recorded: false);
            }
            throw new CxasException(CxasErrorKind.AlreadyExists,
                $"'{key}' has no free output name in '{OutputDirectory}': '{folder}/{stem}' and its alternatives belong to other inputs.", key);
        }

        /// <summary>Whether an input is a URI (a DICOMweb instance) rather than a file path (see <see cref="Imaging.SourceInfo.IsRemote"/>).</summary>
        public static bool IsRemote(string input) => Imaging.SourceInfo.IsRemote(input);

        /// <summary>The planned folder for an input found below a scanned folder; "" for the top.</summary>
        private string PlanFolder(string inputKey, string? relativePath)
        {
            if (string.IsNullOrEmpty(relativePath)) return "";
            var parts = relativePath!.Split(new[] { '/', '\\' }, StringSplitOptions.RemoveEmptyEntries);
            var planned = "";
            var raw = "";
            for (int i = 0; i < parts.Length - 1; i++)
            {
                raw = raw.Length == 0 ? parts[i] : raw + "/" + parts[i];
                if (_plannedFolder.TryGetValue(raw, out var done)) { planned = done; continue; }
                var name = SafeName.Make(parts[i]);
                var candidate = planned.Length == 0 ? name : planned + "/" + name;
                if (_ownerOf.ContainsKey(candidate) && !_treeFolders.Contains(candidate))
                {
                    // The full path of this folder of the input tree: the input's folder, as many levels up as remain.
                    var folderPath = Path.GetDirectoryName(inputKey)!;
                    for (int up = parts.Length - 2; up > i; up--) folderPath = Path.GetDirectoryName(folderPath)!;
                    name = SafeName.Shorten(name, SafeName.MaxBytes - 9) + "~" + SafeName.Hash8(folderPath);
                    candidate = planned.Length == 0 ? name : planned + "/" + name;
                }
                _treeFolders.Add(candidate);
                _plannedFolder[raw] = candidate;
                planned = candidate;
            }
            return planned;
        }

        private bool IsFree(string relativeBase, string inputKey)
        {
            foreach (var name in OutputNames(relativeBase))
            {
                if (_treeFolders.Contains(name)) return false;
                if (_ownerOf.TryGetValue(name, out var owner) && owner != inputKey) return false;
            }
            // No folder above the base may be another input's output (a.png's mask folder "a" cannot hold "a/x").
            int slash = relativeBase.LastIndexOf('/');
            while (slash > 0)
            {
                var above = relativeBase.Substring(0, slash);
                if (_ownerOf.ContainsKey(above) && !_treeFolders.Contains(above)) return false;
                slash = above.LastIndexOf('/');
            }
            return true;
        }

        private void Claim(string relativeBase, string inputKey)
        {
            _baseOf[inputKey] = relativeBase;
            foreach (var name in OutputNames(relativeBase)) _ownerOf[name] = inputKey;
            int slash = relativeBase.LastIndexOf('/');
            while (slash > 0)
            {
                relativeBase = relativeBase.Substring(0, slash);
                _treeFolders.Add(relativeBase);
                slash = relativeBase.LastIndexOf('/');
            }
        }

        /// <summary>Records an input's name in the journal; call it before the input's first output is written.</summary>
        public void Record(PlannedInput planned)
        {
            if (planned.Recorded || _journalPath == null) { planned.Recorded = _journalPath != null; return; }
            try
            {
                if (_journal == null)
                {
                    PrepareDirectory(OutputDirectory);
                    // Appended to only as the regular file that was read; an empty entry (perhaps a FIFO) is replaced.
                    RefuseJournalLinkOrFolder();
                    var info = new FileInfo(_journalPath);
                    if (_journalUnusable || info.Exists && info.Length == 0) File.Delete(_journalPath);
                    var stream = new FileStream(_journalPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                    AtomicOutput.HideOnWindows(_journalPath);
                    _journal = new StreamWriter(stream, new UTF8Encoding(false));
                }
                _journal.Write(planned.RelativeBase + "\t" + planned.InputPath + "\n");
                _journal.Flush();
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.WriteFailed, $"Cannot record the output plan in '{_journalPath}': {ex.Message}", _journalPath, ex);
            }
            _recorded.Add(planned.InputPath);
            planned.Recorded = true;
        }

        /// <summary>
        /// Creates a folder this plan writes into and, the first time in this run, removes abandoned Cxas temporaries in it.
        /// </summary>
        public void PrepareDirectory(string directory)
        {
            var full = Path.GetFullPath(directory);
            if (!_prepared.Add(full)) return;
            EnsureNoLink(full);
            AtomicOutput.CreateDirectory(full);
            AtomicOutput.RemoveStaleTemporaries(full);
        }

        /// <summary>
        /// Refuses a place below the output folder that is reached through a link, or is one: a link made there (a
        /// subfolder pointing elsewhere) would let outputs land outside the output folder. The folder itself may be a link.
        /// </summary>
        public void EnsureNoLink(string path)
        {
            var full = Path.GetFullPath(path);
            var root = OutputDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
            if (full.Length <= root.Length || !full.StartsWith(root, StringComparison.Ordinal)) return;
            var current = root;
            foreach (var part in full.Substring(root.Length).Split(new[] { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries))
            {
                current = Path.Combine(current, part);
                var info = new FileInfo(current);
                bool exists = info.Exists || Directory.Exists(current);
                if (!exists) return;
                if ((info.Attributes & FileAttributes.ReparsePoint) != 0)
                    throw new CxasException(CxasErrorKind.AlreadyExists,
                        $"'{current}' is a link; outputs are never written through a link below the output folder (it may lead outside it). It is left as it is.", current);
            }
        }

        /// <summary>
        /// Whether <paramref name="format"/>'s output of a recorded input is finished: outputs appear only by an atomic
        /// rename, so one that exists is whole. Outputs of inputs the journal does not hold are never taken as finished.
        /// </summary>
        public static bool IsFinished(PlannedInput planned, MaskFormat format)
        {
            if (!planned.Recorded) return false;
            var target = planned.TargetFor(format);
            var writer = planned.Plan.Writers.Of(format);
            switch (writer.Layout)
            {
                case MaskLayout.FolderPerInput:
                    return Directory.Exists(target) && Directory.EnumerateFiles(target, "*" + writer.Extension).Any();
                case MaskLayout.FilePerRun:
                    return false;
                default:
                    return File.Exists(target);
            }
        }

        public void Dispose()
        {
            _journal?.Dispose();
            _journal = null;
        }
    }
}
