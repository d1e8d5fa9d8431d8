using Cxas.Dicom;
using Cxas.Export;
using Cxas.Imaging;

namespace Cxas.Runs
{
    /// <summary>
    /// Everything a run reads and writes with, in one instance handed to what needs it, as ImageSharp's
    /// <c>Configuration</c> is (and fo-dicom 5 resolves its codecs from an instance):
    /// <list type="number">
    /// <item><see cref="Readers"/>: the image readers, asked in order, and the decode limits (<see cref="Limits"/>);</item>
    /// <item>the DICOM frame decoders by transfer syntax, which the configuration's DICOM reader uses (internal: the
    /// decoder contract is not public);</item>
    /// <item><see cref="Writers"/>: the mask output formats, which parsing, the output plan and the exporter read.</item>
    /// </list>
    /// <see cref="Default"/> is built from the built-in parts (the composition root fills the readers and decoders when
    /// the assembly loads) and is read-only: registering into it throws, so that nothing one caller adds reaches another.
    /// A program with a format of its own registers it on a <see cref="Clone"/> and hands that to the run
    /// (<see cref="SegmentationRunOptions.Configuration"/>); the cmdlets use <see cref="Default"/>.
    /// </summary>
    public sealed class CxasConfiguration
    {
        /// <summary>The built-in readers, decoders and writers at default limits; read-only.</summary>
        public static CxasConfiguration Default { get; } =
            new CxasConfiguration(ImageReaderConfiguration.Default, FrameDecoders.Default, MaskWriters.Default);

        private CxasConfiguration(ImageReaderConfiguration readers, FrameDecoders decoders, MaskWriters writers)
        {
            Readers = readers;
            Decoders = decoders;
            Writers = writers;
        }

        /// <summary>
        /// A configuration over <paramref name="readers"/> (a DICOM reader among them brings its frame decoders) and
        /// <paramref name="writers"/> (the built-in formats when null).
        /// </summary>
        public CxasConfiguration(ImageReaderConfiguration readers, MaskWriters? writers = null)
            : this(readers ?? throw new ArgumentNullException(nameof(readers)), DecodersOf(readers), writers ?? MaskWriters.Default) { }

        /// <summary>The image readers, in the order they are asked, and the limits reads are given.</summary>
        public ImageReaderConfiguration Readers { get; }

        /// <summary>The DICOM frame decoders by transfer syntax: the ones this configuration's DICOM reader decodes with.</summary>
        internal FrameDecoders Decoders { get; }

        /// <summary>The mask output formats.</summary>
        public MaskWriters Writers { get; }

        /// <summary>The limits a read works within (the readers' <see cref="ImageReaderConfiguration.Options"/>).</summary>
        public ImageReadOptions Limits => Readers.Options;

        /// <summary>Whether nothing can be registered in it (<see cref="Default"/>).</summary>
        public bool IsReadOnly => Readers.IsReadOnly && Decoders.IsReadOnly && Writers.IsReadOnly;

        /// <summary>
        /// A writable copy: the same readers, decoders and writers, in their order, with <paramref name="limits"/> (else
        /// these). Its DICOM reader is a new one over the copy's decoders, so a decoder registered on the copy is used by
        /// the copy's reads only.
        /// </summary>
        public CxasConfiguration Clone(ImageReadOptions? limits = null)
        {
            var decoders = Decoders.Clone();
            var readers = Readers.Readers
                .Select(r => r is DicomImageReader dicom && dicom.Decoders == Decoders ? new DicomImageReader(decoders) : r)
                .ToArray();
            return new CxasConfiguration(new ImageReaderConfiguration(limits ?? Limits, readers), decoders, Writers.Clone());
        }

        /// <summary>The decoders of the first DICOM reader among <paramref name="readers"/>; an empty writable set without one.</summary>
        private static FrameDecoders DecodersOf(ImageReaderConfiguration readers) =>
            readers.Readers.OfType<DicomImageReader>().Select(r => r.Decoders).FirstOrDefault() ?? new FrameDecoders();
    }
}
