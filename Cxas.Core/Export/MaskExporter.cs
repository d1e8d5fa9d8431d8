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
        public override string ToString() => OutputPath;
    }

    /// <summary>
    /// Writes masks in the reference's layouts: <c>&lt;out&gt;/&lt;stem&gt;/&lt;class&gt;.png|jpg</c> (every class, empty ones too),
    /// <c>&lt;out&gt;/&lt;stem&gt;.npy|npz</c> (bool [C,H,W]; npz key <c>arr_0</c>) and one COCO file per run,
    /// <c>&lt;out&gt;/<see cref="CocoFileName"/></c>. Everything is written under a temporary name first.
    /// </summary>
    public sealed class MaskExporter : IDisposable
    {
        public const string CocoFileName = "segmentations.json";

        private readonly string _outputDirectory;
        private readonly MaskFormat _format;
        private readonly bool _overwrite;
        private readonly IReadOnlyList<string>? _labels;
        private CocoWriter? _coco;

        public MaskExporter(string outputDirectory, MaskFormat format, bool overwrite, IReadOnlyList<string>? labels = null)
        {
            _outputDirectory = Path.GetFullPath(outputDirectory);
            _format = format;
            _overwrite = overwrite;
            _labels = labels == null || labels.Count == 0 ? null : labels;
        }

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

        /// <summary>True for formats that collect a whole run into one file (COCO json).</summary>
        public bool IsRunLevel => _format == MaskFormat.Json;

        public string FormatLabel => FormatName(_format);

        /// <summary>The file or folder an export of <paramref name="result"/> produces.</summary>
        public string TargetFor(SegmentationResult result)
        {
            switch (_format)
            {
                case MaskFormat.Png:
                case MaskFormat.Jpg: return Path.Combine(_outputDirectory, result.Stem);
                case MaskFormat.Npy: return Path.Combine(_outputDirectory, result.Stem + ".npy");
                case MaskFormat.Npz: return Path.Combine(_outputDirectory, result.Stem + ".npz");
                case MaskFormat.Json: return Path.Combine(_outputDirectory, CocoFileName);
                default: return Path.Combine(_outputDirectory, result.Stem + ".seg.dcm");
            }
        }

        /// <summary>Model indices of the classes to write, in the order asked for.</summary>
        public IReadOnlyList<int> ClassesFor(MaskSet masks)
        {
            if (_labels == null) return Enumerable.Range(0, masks.Count).ToArray();
            var list = new List<int>();
            foreach (var label in _labels)
            {
                int c = masks.IndexOf(label);
                if (c < 0)
                    throw new CxasException(CxasErrorKind.InvalidArgument,
                        $"Label '{label}' is not one of the model's classes ({masks.Count} classes; see Get-CxasModel).");
                if (!list.Contains(c)) list.Add(c);
            }
            return list;
        }

        public MaskExportRecord Export(SegmentationResult result)
        {
            var classes = ClassesFor(result.Masks);
            var target = TargetFor(result);
            var record = new MaskExportRecord { Path = result.Path, Format = FormatName(_format), OutputPath = target, Classes = classes.Count };
            switch (_format)
            {
                case MaskFormat.Png:
                case MaskFormat.Jpg:
                    AtomicOutput.WriteDirectory(target, _overwrite, dir =>
                    {
                        foreach (var c in classes)
                        {
                            var file = Path.Combine(dir, result.Masks.Labels[c] + (_format == MaskFormat.Png ? ".png" : ".jpg"));
                            using var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                            if (_format == MaskFormat.Png) WritePng(stream, result.Masks, c);
                            else WriteJpeg(stream, result.Masks, c);
                        }
                    });
                    record.Bytes = new DirectoryInfo(target).EnumerateFiles().Sum(f => f.Length);
                    break;
                case MaskFormat.Npy:
                case MaskFormat.Npz:
                    AtomicOutput.WriteFile(target, _overwrite, stream =>
                    {
                        var subset = new MaskSubset(result.Masks, classes);
                        if (_format == MaskFormat.Npy) subset.WriteNpy(stream);
                        else subset.WriteNpz(stream);
                    });
                    record.Bytes = new FileInfo(target).Length;
                    break;
                case MaskFormat.Json:
                    if (_coco == null)
                        _coco = new CocoWriter(target, result.Masks.Labels, _labels == null ? null : classes, _overwrite);
                    record.Classes = _coco.Add(result);
                    break;
                case MaskFormat.DicomSeg:
                    return Cxas.Dicom.Seg.DicomSegWriter.Export(result, target, _overwrite, classes);
            }
            return record;
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
