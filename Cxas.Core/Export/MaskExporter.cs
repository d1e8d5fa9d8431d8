using Cxas.IO;
using Cxas.Masks;
using Cxas.Segmentation;

namespace Cxas.Export
{
    /// <summary>
    /// A mask output format, known by its name (as on the reference command line). Each <see cref="MaskWriter"/> has
    /// one; the built-in formats have a field here for callers that name them in code. Two formats are equal when their
    /// names are.
    /// </summary>
    public sealed class MaskFormat : IEquatable<MaskFormat>
    {
        public static readonly MaskFormat Png = new MaskFormat("png");
        public static readonly MaskFormat Jpg = new MaskFormat("jpg");
        public static readonly MaskFormat Npy = new MaskFormat("npy");
        public static readonly MaskFormat Npz = new MaskFormat("npz");
        public static readonly MaskFormat Json = new MaskFormat("json");
        public static readonly MaskFormat DicomSeg = new MaskFormat("dicom-seg");

        internal MaskFormat(string name) => Name = name;

        public string Name { get; }

        public bool Equals(MaskFormat? other) => other is not null && string.Equals(Name, other.Name, StringComparison.OrdinalIgnoreCase);
        public override bool Equals(object? obj) => Equals(obj as MaskFormat);
        public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Name);
        public static bool operator ==(MaskFormat? a, MaskFormat? b) => a is null ? b is null : a.Equals(b);
        public static bool operator !=(MaskFormat? a, MaskFormat? b) => !(a == b);
        public override string ToString() => Name;
    }

    /// <summary>What became of one export's output; the names are the words tables and CSV files show.</summary>
    public enum OutputStatus
    {
        /// <summary>A file was written.</summary>
        Written,
        /// <summary>Stored on a PACS (STOW-RS or C-STORE).</summary>
        Stored,
        /// <summary>Stored again over the same instance (-Force).</summary>
        Replaced,
        /// <summary>Already on the PACS: nothing was sent.</summary>
        Exists,
    }

    /// <summary>What one export wrote. Immutable: the exporter or store builds it once the output is complete.</summary>
    public sealed class MaskExportRecord
    {
        public string Path { get; internal init; } = "";
        public string Format { get; internal init; } = "";
        public string OutputPath { get; internal init; } = "";
        public int Classes { get; internal init; }
        public long Bytes { get; internal init; }
        /// <summary>Written (a file), Stored (STOW-RS or C-STORE), Replaced (stored again with -Force), Exists (already on the server: nothing sent).</summary>
        public OutputStatus Status { get; internal init; } = OutputStatus.Written;
        /// <summary>The SOP Instance UID of a DICOM-SEG written or stored.</summary>
        public string? SopInstanceUid { get; internal init; }
        public override string ToString() => OutputPath;
    }

    /// <summary>
    /// Writes masks in the reference's layouts, at the places an <see cref="OutputPlan"/> gives each input:
    /// <c>&lt;out&gt;/&lt;base&gt;/&lt;class&gt;.png|jpg</c> (every class, empty ones too; png and jpg asked together share the
    /// folder, which is written as a whole), <c>&lt;out&gt;/&lt;base&gt;.npy|npz</c> (bool [C,H,W]; npz key <c>arr_0</c>),
    /// <c>&lt;out&gt;/&lt;base&gt;.seg.dcm</c>, and one COCO file per run, <c>&lt;out&gt;/<see cref="CocoFileName"/></c>.
    /// Everything is written under a temporary name first and renamed when complete. What each format writes is its
    /// <see cref="MaskWriter"/>'s, from the plan's <see cref="OutputPlan.Writers"/>; the exporter groups the formats and dispatches on their layout.
    /// </summary>
    public sealed class MaskExporter : IDisposable
    {
        public const string CocoFileName = "segmentations.json";

        private readonly OutputPlan _plan;
        private readonly bool _ownsPlan;
        private readonly bool _overwrite;
        private readonly IReadOnlyList<string>? _labels;
        private RunFileWriter? _runWriter;
        private IRunMaskFile? _coco;

        /// <summary>One format of <paramref name="writers"/> (the built-in ones when null) into <paramref name="outputDirectory"/>, planned without a journal.</summary>
        public MaskExporter(string outputDirectory, MaskFormat format, bool overwrite, IReadOnlyList<string>? labels = null, MaskWriters? writers = null)
            : this(new OutputPlan(outputDirectory, useJournal: false, writers), new[] { format }, overwrite, labels)
        {
            _ownsPlan = true;
        }

        /// <summary>Several formats, written by <paramref name="plan"/>'s writers at the places it decides.</summary>
        public MaskExporter(OutputPlan plan, IEnumerable<MaskFormat> formats, bool overwrite, IReadOnlyList<string>? labels = null)
        {
            _plan = plan;
            _overwrite = overwrite;
            _labels = labels == null || labels.Count == 0 ? null : labels;
            var list = formats.Distinct().ToList();
            // Folder formats form one group (one folder per input); every other format is a group of its own.
            var groups = new List<MaskFormat[]>();
            var folder = list.Where(IsFolderFormat).ToArray();
            foreach (var f in list)
            {
                if (IsFolderFormat(f)) { if (f == folder[0]) groups.Add(folder); }
                else groups.Add(new[] { f });
            }
            Groups = groups;
        }

        public OutputPlan Plan => _plan;

        /// <summary>The writes of one input, each a unit that succeeds or fails as a whole.</summary>
        public IReadOnlyList<MaskFormat[]> Groups { get; }

        /// <summary>The formats this exporter writes with: its plan's.</summary>
        public MaskWriters Writers => _plan.Writers;

        public bool IsFolderFormat(MaskFormat format) => Writers.Of(format).Layout == MaskLayout.FolderPerInput;

        public string FileExtension(MaskFormat format) => Writers.Of(format).Extension;

        public string FormatName(MaskFormat format) => Writers.Of(format).Name;

        public string GroupName(IEnumerable<MaskFormat> group) => string.Join("+", group.Select(FormatName));

        /// <summary>The place of a result's outputs.</summary>
        public PlannedInput PlanFor(SegmentationResult result) => _plan.Plan(result.Path, result.Source.RelativePath);

        /// <summary>Model indices of the classes to write, in the order asked for.</summary>
        public IReadOnlyList<int> ClassesFor(MaskSet masks) => ClassesFor(masks, _labels);

        /// <summary>Model indices of <paramref name="labels"/> (all classes when null or empty), in the order asked for.</summary>
        public static IReadOnlyList<int> ClassesFor(MaskSet masks, IReadOnlyList<string>? labels)
        {
            if (labels == null || labels.Count == 0) return Enumerable.Range(0, masks.Count).ToArray();
            var list = new List<int>();
            foreach (var label in labels)
            {
                int c = masks.IndexOf(label);
                if (c < 0)
                    throw new CxasException(CxasErrorKind.InvalidArgument,
                        $"Label '{label}' is not one of the model's classes ({masks.Count} classes).");
                if (!list.Contains(c)) list.Add(c);
            }
            return list;
        }

        /// <summary>Writes every group of one result; the first failure stops it (see <see cref="ExportGroup"/> for one at a time).</summary>
        public IReadOnlyList<MaskExportRecord> Export(SegmentationResult result)
        {
            var planned = PlanFor(result);
            var records = new List<MaskExportRecord>();
            foreach (var group in Groups) records.AddRange(ExportGroup(result, planned, group));
            return records;
        }

        /// <summary>
        /// Writes one group of formats of one result at its planned place. A folder group whose folder exists and is the
        /// input's own (recorded in the journal) gains the files of the formats it lacks; otherwise existing outputs are
        /// replaced only when overwriting.
        /// </summary>
        public IReadOnlyList<MaskExportRecord> ExportGroup(SegmentationResult result, PlannedInput planned, MaskFormat[] group)
        {
            var classes = ClassesFor(result.Masks);
            var records = new List<MaskExportRecord>();
            var writer = Writers.Of(group[0]);
            if (writer is RunFileWriter run)
            {
                if (_coco == null)
                {
                    _plan.PrepareDirectory(_plan.OutputDirectory);
                    _runWriter = run;
                    _coco = run.Open(planned.TargetFor(run.Format), result.Masks.Labels, _labels == null ? null : classes, _overwrite);
                }
                records.Add(new MaskExportRecord { Path = result.Path, Format = run.Name, OutputPath = _coco.OutputPath, Classes = _coco.Add(result) });
                return records;
            }

            var target = planned.TargetFor(group[0]);
            _plan.PrepareDirectory(Path.GetDirectoryName(target)!);
            _plan.EnsureNoLink(target);
            bool own = planned.Recorded;
            // Someone else's file at the planned place is never claimed: it stays theirs, and the write fails or replaces it.
            if (!own) AtomicOutput.EnsureWritable(target, _overwrite);
            _plan.Record(planned);
            if (writer is ClassImageWriter)
            {
                // A folder that is there already (this input's own, or mask images only when overwriting) keeps what this
                // write does not replace: the files of other formats and classes. Each file written replaces only itself;
                // without overwriting, only the files missing are added. A new folder appears whole.
                if (Directory.Exists(target) && (own || IsMaskFolder(target)))
                {
                    _plan.PrepareDirectory(target);
                    foreach (var f in group)
                        foreach (var c in classes)
                        {
                            var file = Path.Combine(target, result.Masks.Labels[c] + FileExtension(f));
                            if (!_overwrite && File.Exists(file)) continue;
                            AtomicOutput.WriteFile(file, _overwrite, stream => ClassWriter(f).WriteClass(stream, result.Masks, c));
                        }
                }
                else
                {
                    AtomicOutput.WriteDirectory(target, _overwrite, dir =>
                    {
                        foreach (var f in group)
                            foreach (var c in classes)
                            {
                                var file = Path.Combine(dir, result.Masks.Labels[c] + FileExtension(f));
                                using var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                                ClassWriter(f).WriteClass(stream, result.Masks, c);
                            }
                    }, IsMaskFolder);
                }
                foreach (var f in group)
                    records.Add(new MaskExportRecord
                    {
                        Path = result.Path, Format = FormatName(f), OutputPath = target, Classes = classes.Count,
                        Bytes = new DirectoryInfo(target).EnumerateFiles("*" + FileExtension(f)).Sum(x => x.Length),
                    });
                return records;
            }
            records.Add(((InputFileWriter)writer).Write(result, target, _overwrite, classes));
            return records;
        }

        private ClassImageWriter ClassWriter(MaskFormat format) => (ClassImageWriter)Writers.Of(format);

        /// <summary>A folder that a mask write may replace: mask images only (of the folder formats), no subfolders or links.</summary>
        private bool IsMaskFolder(string directory) =>
            AtomicOutput.HoldsFilesOnly(directory) &&
            Directory.EnumerateFiles(directory).All(f => Writers.All.Any(w => w is ClassImageWriter && f.EndsWith(w.Extension, StringComparison.OrdinalIgnoreCase)));

        /// <summary>Finishes run-level outputs (the COCO file). Without it, they are discarded on dispose.</summary>
        public MaskExportRecord? Complete()
        {
            if (_coco == null) return null;
            _coco.Complete();
            var record = new MaskExportRecord { Format = _runWriter!.Name, OutputPath = _coco.OutputPath, Bytes = new FileInfo(_coco.OutputPath).Length };
            _coco = null;
            return record;
        }

        public void Dispose()
        {
            _coco?.Dispose();
            _coco = null;
            if (_ownsPlan) _plan.Dispose();
        }

        public static void WritePng(Stream stream, MaskSet masks, int c) => new PngMaskWriter().WriteClass(stream, masks, c);

        public static void WriteJpeg(Stream stream, MaskSet masks, int c) => new JpegMaskWriter().WriteClass(stream, masks, c);
    }
}
