using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cxas.IO;
using Cxas.Masks;
using Cxas.Segmentation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Cxas.Export
{
    /// <summary>Output formats, named as on the reference command line.</summary>
    public enum MaskFormat { Png, Jpg, Npy, Npz, Json, DicomSeg }

    /// <summary>What one export wrote.</summary>
    public sealed class MaskExportRecord
    {
        public string Path { get; set; } = "";
        public string Format { get; set; } = "";
        public string OutputPath { get; set; } = "";
        public int Classes { get; set; }
        public long Bytes { get; set; }
        /// <summary>"Written" (a file), "Stored" (STOW-RS), "Replaced" (stored again with -Force), "Exists" (already on the server: nothing sent).</summary>
        public string Status { get; set; } = "Written";
        /// <summary>The SOP Instance UID of a DICOM-SEG written or stored.</summary>
        public string? SopInstanceUid { get; set; }
        public override string ToString() => OutputPath;
    }

    /// <summary>
    /// Writes masks in the reference's layouts, at the places an <see cref="OutputPlan"/> gives each input:
    /// <c>&lt;out&gt;/&lt;base&gt;/&lt;class&gt;.png|jpg</c> (every class, empty ones too; png and jpg asked together share the
    /// folder, which is written as a whole), <c>&lt;out&gt;/&lt;base&gt;.npy|npz</c> (bool [C,H,W]; npz key <c>arr_0</c>),
    /// <c>&lt;out&gt;/&lt;base&gt;.seg.dcm</c>, and one COCO file per run, <c>&lt;out&gt;/<see cref="CocoFileName"/></c>.
    /// Everything is written under a temporary name first and renamed when complete.
    /// </summary>
    public sealed class MaskExporter : IDisposable
    {
        public const string CocoFileName = "segmentations.json";

        private readonly OutputPlan _plan;
        private readonly bool _ownsPlan;
        private readonly bool _overwrite;
        private readonly IReadOnlyList<string>? _labels;
        private CocoWriter? _coco;

        /// <summary>One format into <paramref name="outputDirectory"/>, planned without a journal.</summary>
        public MaskExporter(string outputDirectory, MaskFormat format, bool overwrite, IReadOnlyList<string>? labels = null)
            : this(new OutputPlan(outputDirectory, useJournal: false), new[] { format }, overwrite, labels)
        {
            _ownsPlan = true;
        }

        /// <summary>Several formats at the places <paramref name="plan"/> decides.</summary>
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

        public static bool IsFolderFormat(MaskFormat format) => format == MaskFormat.Png || format == MaskFormat.Jpg;

        public static string FileExtension(MaskFormat format) => format == MaskFormat.Png ? ".png" : format == MaskFormat.Jpg ? ".jpg" : OutputPlan.Suffix(format);

        /// <summary>The format names ParseFormat accepts first (what -OutputType offers).</summary>
        public static IReadOnlyList<string> FormatNames { get; } = new[] { "png", "jpg", "npy", "npz", "json", "dicom-seg" };

        public static MaskFormat ParseFormat(string text)
        {
            switch ((text ?? "").Trim().ToLowerInvariant().TrimStart('.'))
            {
                case "png": return MaskFormat.Png;
                case "jpg": case "jpeg": return MaskFormat.Jpg;
                case "npy": return MaskFormat.Npy;
                case "npz": return MaskFormat.Npz;
                case "json": case "coco": return MaskFormat.Json;
                case "dicom-seg": case "dicomseg": case "dcm": case "seg": return MaskFormat.DicomSeg;
                default:
                    throw new CxasException(CxasErrorKind.InvalidArgument, $"Output type '{text}' is not one of png, jpg, npy, npz, json, dicom-seg.");
            }
        }

        public static string FormatName(MaskFormat format) => format == MaskFormat.DicomSeg ? "dicom-seg" : format.ToString().ToLowerInvariant();

        public static string GroupName(IEnumerable<MaskFormat> group) => string.Join("+", group.Select(FormatName));

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
            if (group[0] == MaskFormat.Json)
            {
                if (_coco == null)
                {
                    _plan.PrepareDirectory(_plan.OutputDirectory);
                    _coco = new CocoWriter(planned.TargetFor(MaskFormat.Json), result.Masks.Labels, _labels == null ? null : classes, _overwrite);
                }
                records.Add(new MaskExportRecord { Path = result.Path, Format = "json", OutputPath = _coco.OutputPath, Classes = _coco.Add(result) });
                return records;
            }

            var target = planned.TargetFor(group[0]);
            _plan.PrepareDirectory(Path.GetDirectoryName(target)!);
            bool own = planned.Recorded;
            // Someone else's file at the planned place is never claimed: it stays theirs, and the write fails or replaces it.
            if (!own) AtomicOutput.EnsureWritable(target, _overwrite);
            _plan.Record(planned);
            if (IsFolderFormat(group[0]))
            {
                if (own && !_overwrite && Directory.Exists(target))
                {
                    _plan.PrepareDirectory(target);
                    foreach (var f in group.Where(f => !OutputPlan.IsFinished(planned, f)))
                        foreach (var c in classes)
                            AtomicOutput.WriteFile(Path.Combine(target, result.Masks.Labels[c] + FileExtension(f)), false,
                                stream => WriteMask(stream, result.Masks, c, f));
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
                                WriteMask(stream, result.Masks, c, f);
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
            var format = group[0];
            if (format == MaskFormat.DicomSeg)
            {
                records.Add(DicomSegFile.Export(result, target, _overwrite, classes));
                return records;
            }
            AtomicOutput.WriteFile(target, _overwrite, stream =>
            {
                var subset = new MaskSubset(result.Masks, classes);
                if (format == MaskFormat.Npy) subset.WriteNpy(stream);
                else subset.WriteNpz(stream);
            });
            records.Add(new MaskExportRecord
            {
                Path = result.Path, Format = FormatName(format), OutputPath = target, Classes = classes.Count, Bytes = new FileInfo(target).Length,
            });
            return records;
        }

        /// <summary>A folder that a mask write may replace: mask images only (png or jpg), no subfolders or links.</summary>
        private static bool IsMaskFolder(string directory) =>
            AtomicOutput.HoldsFilesOnly(directory) &&
            Directory.EnumerateFiles(directory).All(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase));

        private static void WriteMask(Stream stream, MaskSet masks, int c, MaskFormat format)
        {
            if (format == MaskFormat.Png) WritePng(stream, masks, c);
            else WriteJpeg(stream, masks, c);
        }

        /// <summary>Finishes run-level outputs (the COCO file). Without it, they are discarded on dispose.</summary>
        public MaskExportRecord? Complete()
        {
            if (_coco == null) return null;
            _coco.Complete();
            var record = new MaskExportRecord { Format = "json", OutputPath = _coco.OutputPath, Bytes = new FileInfo(_coco.OutputPath).Length };
            _coco = null;
            return record;
        }

        public void Dispose()
        {
            _coco?.Dispose();
            _coco = null;
            if (_ownsPlan) _plan.Dispose();
        }

        public static void WritePng(Stream stream, MaskSet masks, int c) =>
            PngBitWriter.WritePacked(stream, masks.Width, masks.Height, (y, row) => masks.GetPackedRowMsb(c, y, row, y - 1));

        public static void WriteJpeg(Stream stream, MaskSet masks, int c)
        {
            var pixels = new byte[masks.Width * masks.Height];
            for (int y = 0; y < masks.Height; y++)
                masks.GetRow(c, y, new Span<byte>(pixels, y * masks.Width, masks.Width), 255);
            using var image = Image.LoadPixelData<L8>(pixels, masks.Width, masks.Height);
            image.Save(stream, new JpegEncoder { Quality = 95 });
        }

        /// <summary>A chosen subset of classes, written as one bool array.</summary>
        private sealed class MaskSubset
        {
            private readonly MaskSet _masks;
            private readonly IReadOnlyList<int> _classes;
            public MaskSubset(MaskSet masks, IReadOnlyList<int> classes) { _masks = masks; _classes = classes; }

            public void WriteNpy(Stream output)
            {
                NpyWriter.WriteHeader(output, "|b1", _classes.Count, _masks.Height, _masks.Width);
                var row = new byte[_masks.Width];
                foreach (var c in _classes)
                    for (int y = 0; y < _masks.Height; y++)
                    {
                        _masks.GetRow(c, y, row);
                        output.Write(row, 0, row.Length);
                    }
            }

            public void WriteNpz(Stream output)
            {
                using var zip = new System.IO.Compression.ZipArchive(output, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true);
                var entry = zip.CreateEntry("arr_0.npy", System.IO.Compression.CompressionLevel.Fastest);
                using var stream = entry.Open();
                using var buffered = new BufferedStream(stream, 1 << 16);
                WriteNpy(buffered);
            }
        }
    }
}
