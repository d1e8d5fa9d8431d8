using System.IO.Compression;
using Cxas.IO;
using Cxas.Masks;
using Cxas.Segmentation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Cxas.Export
{
    /// <summary>Where a format's output of one input goes.</summary>
    internal enum MaskLayout
    {
        /// <summary><c>&lt;out&gt;/&lt;name&gt;/&lt;class&gt;.ext</c>: one file per class in the input's folder, shared by every folder format.</summary>
        FolderPerInput,
        /// <summary><c>&lt;out&gt;/&lt;name&gt;.ext</c>: one file per input.</summary>
        FilePerInput,
        /// <summary>One file for the whole run in the output folder.</summary>
        FilePerRun,
    }

    /// <summary>
    /// One mask output format: its name on the command line (and the names it also answers to), the extension of what it
    /// writes, a one-line description, its layout, and the code that writes it (in the subclass of its layout). A new
    /// format is one subclass of its layout's base, registered on a configuration's <see cref="MaskWriters"/>; its
    /// <see cref="MaskFormat"/> comes from its name.
    /// </summary>
    internal abstract class MaskWriter
    {
        protected MaskWriter(string name, string extension, MaskLayout layout, string description, params string[] aliases)
        {
            Format = new MaskFormat(name);
            Name = name;
            Extension = extension;
            Layout = layout;
            Description = description;
            Aliases = aliases;
        }

        public MaskFormat Format { get; }
        /// <summary>The name the cmdlets and the documentation use ("dicom-seg").</summary>
        public string Name { get; }
        /// <summary>Other names accepted for it ("jpeg" for jpg).</summary>
        public IReadOnlyList<string> Aliases { get; }
        /// <summary>The extension of the files it writes, with its dot (".seg.dcm").</summary>
        public string Extension { get; }
        public MaskLayout Layout { get; }
        public string Description { get; }

        /// <summary>What the format adds to an input's planned base name: its extension for a file per input, else nothing.</summary>
        public string Suffix => Layout == MaskLayout.FilePerInput ? Extension : "";

        public override string ToString() => Name;
    }

    /// <summary>A format that writes one image per class into the input's folder.</summary>
    internal abstract class ClassImageWriter : MaskWriter
    {
        protected ClassImageWriter(string name, string extension, string description, params string[] aliases)
            : base(name, extension, MaskLayout.FolderPerInput, description, aliases) { }

        public abstract void WriteClass(Stream output, MaskSet masks, int c);
    }

    /// <summary>A format that writes one file per input, atomically, at the planned place.</summary>
    internal abstract class InputFileWriter : MaskWriter
    {
        protected InputFileWriter(string name, string extension, string description, params string[] aliases)
            : base(name, extension, MaskLayout.FilePerInput, description, aliases) { }

        public abstract MaskExportRecord Write(SegmentationResult result, string target, bool overwrite, IReadOnlyList<int> classes);
    }

    /// <summary>A file per input whose content is one stream of the chosen classes' masks.</summary>
    internal abstract class StreamedFileWriter : InputFileWriter
    {
        protected StreamedFileWriter(string name, string extension, string description, params string[] aliases)
            : base(name, extension, description, aliases) { }

        protected abstract void WriteStream(Stream output, MaskSet masks, IReadOnlyList<int> classes);

        public override MaskExportRecord Write(SegmentationResult result, string target, bool overwrite, IReadOnlyList<int> classes)
        {
            AtomicOutput.WriteFile(target, overwrite, stream => WriteStream(stream, result.Masks, classes));
            return new MaskExportRecord
            {
                Path = result.Path, Format = Name, OutputPath = target, Classes = classes.Count, Bytes = new FileInfo(target).Length,
            };
        }
    }

    /// <summary>The file a run-level format gathers every result into; it appears only on <see cref="Complete"/>.</summary>
    internal interface IRunMaskFile : IDisposable
    {
        string OutputPath { get; }
        /// <summary>Adds one result; returns how many classes it recorded.</summary>
        int Add(SegmentationResult result);
        void Complete();
    }

    /// <summary>A format that writes one file for the whole run, named <see cref="FileName"/> in the output folder.</summary>
    internal abstract class RunFileWriter : MaskWriter
    {
        protected RunFileWriter(string name, string fileName, string description, params string[] aliases)
            : base(name, Path.GetExtension(fileName), MaskLayout.FilePerRun, description, aliases)
        {
            FileName = fileName;
        }

        public string FileName { get; }

        /// <summary>Starts the run's file at <paramref name="target"/> for a model with <paramref name="labels"/>, recording <paramref name="classes"/> (model indices; all when null).</summary>
        public abstract IRunMaskFile Open(string target, IReadOnlyList<string> labels, IReadOnlyList<int>? classes, bool overwrite);
    }

    /// <summary>
    /// A set of mask output formats: the one place a configuration knows their names, extensions and writers. Parsing, the
    /// exporter's dispatch, the output plan's names, and the cmdlets' validation (<see cref="Names"/>) read the set they are
    /// given, as ImageSharp's codecs are read from the <c>Configuration</c> a caller passes. <see cref="Default"/> holds the
    /// built-in formats and is read-only, so that what one caller registers never reaches another's plan or parser: a
    /// format is registered on a <see cref="Clone"/> (usually its <c>CxasConfiguration</c>'s). The writer contract is
    /// internal for now (a writer builds export records and writes atomically through internals), so registration is
    /// this library's and its tests'; a program reads the set (<see cref="Names"/>, <see cref="ParseFormat"/>).
    /// </summary>
    public sealed class MaskWriters
    {
        private readonly List<MaskWriter> _writers;

        private MaskWriters(IEnumerable<MaskWriter> writers) => _writers = writers.ToList();

        /// <summary>The built-in formats (png, jpg, npy, npz, json, dicom-seg), read-only.</summary>
        public static MaskWriters Default { get; } = new MaskWriters(new MaskWriter[]
        {
            new PngMaskWriter(), new JpegMaskWriter(), new NpyMaskWriter(), new NpzMaskWriter(), new CocoMaskWriter(), new DicomSegMaskWriter(),
        }) { IsReadOnly = true };

        /// <summary>Whether <see cref="Register"/> is refused (<see cref="Default"/> is).</summary>
        public bool IsReadOnly { get; private init; }

        /// <summary>A writable set holding the same formats, in order.</summary>
        public MaskWriters Clone() => new MaskWriters(All);

        /// <summary>Every format, built-in ones first, then the registered ones in their order.</summary>
        internal IReadOnlyList<MaskWriter> All
        {
            get { lock (_writers) return _writers.ToArray(); }
        }

        /// <summary>The formats' names, as the cmdlets accept them: png, jpg, npy, npz, json, dicom-seg, then registered ones.</summary>
        public IReadOnlyList<string> Names => All.Select(w => w.Name).ToArray();

        /// <summary>Adds a format; its name and aliases must be new. A read-only set (<see cref="Default"/>) refuses (InvalidOperationException).</summary>
        internal void Register(MaskWriter writer)
        {
            if (writer == null) throw new ArgumentNullException(nameof(writer));
            if (IsReadOnly)
                throw new InvalidOperationException("The default mask writers are read-only: register on a Clone() of the configuration and hand that to the run.");
            lock (_writers)
            {
                foreach (var name in new[] { writer.Name }.Concat(writer.Aliases))
                    if (Find(name) != null)
                        throw new CxasException(CxasErrorKind.InvalidArgument, $"A mask format named '{name}' is already registered.");
                _writers.Add(writer);
            }
        }

        internal MaskWriter Of(MaskFormat format) =>
            All.FirstOrDefault(w => w.Format == format) ?? throw new ArgumentOutOfRangeException(nameof(format), format, "Not a mask format of this configuration.");

        /// <summary>The format a name (or alias, or extension: ".npz") stands for, case ignored; null when none.</summary>
        internal MaskWriter? Find(string? text)
        {
            var key = (text ?? "").Trim().TrimStart('.');
            return All.FirstOrDefault(w => string.Equals(w.Name, key, StringComparison.OrdinalIgnoreCase)
                                               || w.Aliases.Any(a => string.Equals(a, key, StringComparison.OrdinalIgnoreCase)));
        }

        /// <summary>As <see cref="Find"/>, throwing InvalidArgument with the accepted names when none matches.</summary>
        internal MaskWriter Parse(string? text) =>
            Find(text) ?? throw new CxasException(CxasErrorKind.InvalidArgument, $"Output type '{text}' is not one of {string.Join(", ", Names)}.");

        /// <summary>The <see cref="MaskFormat"/> a name stands for (as <see cref="Parse"/>).</summary>
        public MaskFormat ParseFormat(string? text) => Parse(text).Format;
    }

    /// <summary>png: one 1-bit greyscale PNG per class.</summary>
    internal sealed class PngMaskWriter : ClassImageWriter
    {
        public PngMaskWriter() : base("png", ".png", "one 1-bit greyscale PNG per class in the input's folder") { }

        public override void WriteClass(Stream output, MaskSet masks, int c) =>
            PngBitWriter.WritePacked(output, masks.Width, masks.Height, (y, row) => masks.GetPackedRowMsb(c, y, row, y - 1));
    }

    /// <summary>jpg: one 8-bit JPEG (0 or 255, quality 95) per class.</summary>
    internal sealed class JpegMaskWriter : ClassImageWriter
    {
        public JpegMaskWriter() : base("jpg", ".jpg", "one 8-bit JPEG (0 or 255, lossy) per class in the input's folder", "jpeg") { }

        public override void WriteClass(Stream output, MaskSet masks, int c)
        {
            var pixels = new byte[masks.Width * masks.Height];
            for (int y = 0; y < masks.Height; y++)
                masks.GetRow(c, y, new Span<byte>(pixels, y * masks.Width, masks.Width), 255);
            using var image = Image.LoadPixelData<L8>(pixels, masks.Width, masks.Height);
            image.Save(output, new JpegEncoder { Quality = 95 });
        }
    }

    /// <summary>npy: a bool array [C, H, W] of the chosen classes.</summary>
    internal sealed class NpyMaskWriter : StreamedFileWriter
    {
        public NpyMaskWriter() : base("npy", ".npy", "a bool array [C, H, W] per input") { }

        protected override void WriteStream(Stream output, MaskSet masks, IReadOnlyList<int> classes) => Write(output, masks, classes);

        internal static void Write(Stream output, MaskSet masks, IReadOnlyList<int> classes)
        {
            NpyWriter.WriteHeader(output, "|b1", classes.Count, masks.Height, masks.Width);
            var row = new byte[masks.Width];
            foreach (var c in classes)
                for (int y = 0; y < masks.Height; y++)
                {
                    masks.GetRow(c, y, row);
                    output.Write(row, 0, row.Length);
                }
        }
    }

    /// <summary>npz: the npy array deflated under the key arr_0, as <c>np.savez_compressed</c> writes it.</summary>
    internal sealed class NpzMaskWriter : StreamedFileWriter
    {
        public NpzMaskWriter() : base("npz", ".npz", "the npy array, deflated, under the key arr_0") { }

        protected override void WriteStream(Stream output, MaskSet masks, IReadOnlyList<int> classes)
        {
            using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
            var entry = zip.CreateEntry("arr_0.npy", CompressionLevel.Fastest);
            using var stream = entry.Open();
            using var buffered = new BufferedStream(stream, 1 << 16);
            NpyMaskWriter.Write(buffered, masks, classes);
        }
    }

    /// <summary>json: one COCO file (RLE annotations) for the whole run.</summary>
    internal sealed class CocoMaskWriter : RunFileWriter
    {
        public CocoMaskWriter() : base("json", MaskExporter.CocoFileName, "one COCO file with RLE annotations for the whole run", "coco") { }

        public override IRunMaskFile Open(string target, IReadOnlyList<string> labels, IReadOnlyList<int>? classes, bool overwrite) =>
            new CocoWriter(target, labels, classes, overwrite);
    }

    /// <summary>dicom-seg: one multi-segment DICOM Segmentation per DICOM source.</summary>
    internal sealed class DicomSegMaskWriter : InputFileWriter
    {
        public DicomSegMaskWriter()
            : base("dicom-seg", ".seg.dcm", "one DICOM Segmentation per DICOM input", "dicomseg", "dcm", "seg") { }

        public override MaskExportRecord Write(SegmentationResult result, string target, bool overwrite, IReadOnlyList<int> classes) =>
            SegSink.Send(result, classes, new SegFileDestination(target, overwrite));
    }
}
