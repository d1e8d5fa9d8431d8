
namespace Cxas.Dicom
{
    /// <summary>
    /// A data set assembled for writing. Elements are added in any order, each tag once; <see cref="WriteTo"/> writes them
    /// in ascending tag order, as PS3.5 7.1 requires, and the items of every sequence likewise (each item is a builder of
    /// its own). Values are written by <see cref="DicomWriter"/>: explicit VR little endian, sequences and items of
    /// undefined length. A Part 10 file is the preamble, "DICM", the file meta group with its group length, then the data set
    /// (<see cref="WritePart10"/>).
    /// </summary>
    internal sealed class DicomDataSetBuilder
    {
        private readonly SortedDictionary<uint, Action<DicomWriter>> _elements = new SortedDictionary<uint, Action<DicomWriter>>();

        /// <summary>The tags added so far, ascending (the order they are written in).</summary>
        public IEnumerable<uint> Tags => _elements.Keys;

        public DicomDataSetBuilder Bytes(uint tag, string vr, byte[] value) => Add(tag, w => w.Bytes(tag, vr, value));
        public DicomDataSetBuilder Text(uint tag, string vr, string value) => Add(tag, w => w.Text(tag, vr, value));
        public DicomDataSetBuilder US(uint tag, int value) => Add(tag, w => w.US(tag, value));
        public DicomDataSetBuilder UL(uint tag, uint value) => Add(tag, w => w.UL(tag, value));
        public DicomDataSetBuilder AT(uint tag, uint value) => Add(tag, w => w.AT(tag, value));
        public DicomDataSetBuilder IS(uint tag, long value) => Add(tag, w => w.IS(tag, value));

        /// <summary>A sequence of the given items (none: an empty sequence).</summary>
        public DicomDataSetBuilder Sequence(uint tag, IEnumerable<DicomDataSetBuilder> items)
        {
            var list = new List<DicomDataSetBuilder>(items);
            return Add(tag, w =>
            {
                w.BeginSequence(tag);
                foreach (var item in list)
                {
                    w.BeginItem();
                    item.WriteTo(w);
                    w.EndItem();
                }
                w.EndSequence();
            });
        }

        public DicomDataSetBuilder Sequence(uint tag, params DicomDataSetBuilder[] items) => Sequence(tag, (IEnumerable<DicomDataSetBuilder>)items);

        /// <summary>Writes the elements in ascending tag order.</summary>
        public void WriteTo(DicomWriter writer)
        {
            foreach (var write in _elements.Values) write(writer);
        }

        /// <summary>
        /// A Part 10 file: 128-byte preamble, "DICM", FileMetaInformationGroupLength, the <paramref name="meta"/> elements
        /// (group 0002), then <paramref name="dataset"/>.
        /// </summary>
        public static void WritePart10(Stream output, DicomDataSetBuilder meta, DicomDataSetBuilder dataset) =>
            dataset.WriteTo(WritePreambleAndMeta(output, meta));

        /// <summary>The file meta elements of an object Cxas writes or receives (PS3.10 7.1), group length excluded.</summary>
        public static DicomDataSetBuilder FileMeta(string sopClass, string sopInstance, string transferSyntax) => new DicomDataSetBuilder()
            .Bytes(Dicom.Tags.FileMetaInformationVersion, "OB", new byte[] { 0, 1 })
            .Text(Dicom.Tags.MediaStorageSopClassUid, "UI", sopClass)
            .Text(Dicom.Tags.MediaStorageSopInstanceUid, "UI", sopInstance)
            .Text(Dicom.Tags.TransferSyntaxUid, "UI", transferSyntax)
            .Text(Dicom.Tags.ImplementationClassUid, "UI", DicomUid.ImplementationClass)
            .Text(Dicom.Tags.ImplementationVersionName, "SH", DicomUid.ImplementationVersion);

        /// <summary>A Part 10 file around a data set already encoded (as a DIMSE peer sent it) in the meta's transfer syntax.</summary>
        public static void WritePart10Encoded(Stream output, DicomDataSetBuilder meta, byte[] encodedDataset)
        {
            WritePreambleAndMeta(output, meta);
            output.Write(encodedDataset, 0, encodedDataset.Length);
        }

        private static DicomWriter WritePreambleAndMeta(Stream output, DicomDataSetBuilder meta)
        {
            var metaBytes = new MemoryStream();
            meta.WriteTo(new DicomWriter(metaBytes));
            output.Write(new byte[128], 0, 128);
            output.Write(new[] { (byte)'D', (byte)'I', (byte)'C', (byte)'M' }, 0, 4);
            var writer = new DicomWriter(output);
            writer.UL(Dicom.Tags.FileMetaInformationGroupLength, (uint)metaBytes.Length);
            metaBytes.Position = 0;
            metaBytes.CopyTo(output);
            return writer;
        }

        private DicomDataSetBuilder Add(uint tag, Action<DicomWriter> write)
        {
            if (_elements.ContainsKey(tag))
                throw new ArgumentException($"({tag >> 16:X4},{tag & 0xFFFF:X4}) was added twice to one data set.", nameof(tag));
            _elements.Add(tag, write);
            return this;
        }
    }
}
