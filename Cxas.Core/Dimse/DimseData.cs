using System.Text;
using Cxas.Dicom;

namespace Cxas.Dimse
{
    /// <summary>
    /// Data sets as DIMSE carries them: bare, in the presentation context's transfer syntax, without file meta
    /// information. Received ones become Part 10 files (meta from the command and the context) so the DICOM layer reads
    /// them like any file; query identifiers are flat lists of text keys, written in either little endian syntax.
    /// </summary>
    internal static class DimseData
    {
        public const string Verification = "1.2.840.10008.1.1";
        public const string StudyRootFind = "1.2.840.10008.5.1.4.1.2.2.1";
        public const string StudyRootMove = "1.2.840.10008.5.1.4.1.2.2.2";
        public const string StudyRootGet = "1.2.840.10008.5.1.4.1.2.2.3";
        public const string QueryRetrieveLevel = "00080052";

        /// <summary>Transfer syntaxes proposed or accepted for storage: those the DICOM layer decodes, native first.</summary>
        public static readonly string[] StorageTransferSyntaxes =
        {
            TransferSyntaxes.ExplicitLittle, TransferSyntaxes.ImplicitLittle, TransferSyntaxes.DeflatedExplicitLittle, TransferSyntaxes.ExplicitBig,
            TransferSyntaxes.JpegLossless, TransferSyntaxes.JpegLosslessSv1, TransferSyntaxes.JpegBaseline, TransferSyntaxes.JpegExtended,
            TransferSyntaxes.JpegLsLossless, TransferSyntaxes.JpegLsNear, TransferSyntaxes.Jpeg2000Lossless, TransferSyntaxes.Jpeg2000, TransferSyntaxes.Rle,
        };

        /// <summary>Syntaxes for commands' companions (queries, their answers): the two little endian ones.</summary>
        public static readonly string[] NativeLittle = { TransferSyntaxes.ExplicitLittle, TransferSyntaxes.ImplicitLittle };

        /// <summary>
        /// Image storage SOP classes proposed for C-GET (the SCP sends the instance back on this association): CR, DX for
        /// presentation and processing, intra-oral, mammography, secondary capture, CT, MR.
        /// </summary>
        public static readonly string[] ImageStorageClasses =
        {
            "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.3",
            "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4",
        };

        /// <summary>
        /// The transfer syntax groups proposed for each storage class of a C-GET, one presentation context each: the native
        /// little endian pair, then every other syntax alone, so that the SCP can send an instance as it holds it instead of
        /// transcoding it (an SCP accepts one syntax per context, usually the first it supports).
        /// </summary>
        public static IEnumerable<string[]> StorageSyntaxGroups() =>
            new[] { NativeLittle }.Concat(StorageTransferSyntaxes.Except(NativeLittle).Select(ts => new[] { ts }));

        /// <summary>Whether an abstract syntax is a storage SOP class (PS3.4 B.5: under 1.2.840.10008.5.1.4.1.1).</summary>
        public static bool IsStorageClass(string uid) => uid.StartsWith("1.2.840.10008.5.1.4.1.1.", StringComparison.Ordinal);

        /// <summary>A Part 10 file holding a received data set.</summary>
        public static byte[] ToPart10(byte[] dataSet, string sopClass, string sopInstance, string transferSyntax)
        {
            var file = new MemoryStream();
            DicomDataSetBuilder.WritePart10Encoded(file, DicomDataSetBuilder.FileMeta(sopClass, sopInstance, transferSyntax), dataSet);
            return file.ToArray();
        }

        /// <summary>Parses a received data set (a C-FIND answer) through the DICOM layer.</summary>
        public static DicomDataset Parse(byte[] dataSet, string transferSyntax, string name) =>
            DicomParser.Parse(name, ToPart10(dataSet, "1.2.840.10008.5.1.4.1.2.2.1", "1.2.3", transferSyntax)).Dataset;

        /// <summary>The parts of a Part 10 file C-STORE needs: SOP class and instance, transfer syntax, the encoded data set.</summary>
        public static (string SopClass, string SopInstance, string TransferSyntax, byte[] DataSet) FromPart10(string name, byte[] file)
        {
            var parsed = DicomParser.Parse(name, file);
            var sopClass = parsed.Meta.GetString(Tags.MediaStorageSopClassUid) ?? parsed.Dataset.GetString(Tags.SopClassUid);
            var sop = parsed.Meta.GetString(Tags.MediaStorageSopInstanceUid) ?? parsed.Dataset.GetString(Tags.SopInstanceUid);
            var groupLength = parsed.Meta.Get(Tags.FileMetaInformationGroupLength);
            if (sopClass == null || sop == null || !parsed.HadPreamble || groupLength == null || groupLength.Length != 4)
                throw new CxasException(CxasErrorKind.InvalidData, $"'{name}' is not a Part 10 file with file meta information, SOP class and instance.", name);
            long start = 132 + 12 + (long)BitConverter.ToUInt32(groupLength.Buffer, groupLength.Offset);
            if (start > file.Length) throw new CxasException(CxasErrorKind.InvalidData, $"'{name}': its file meta group length runs past the file.", name);
            var dataSet = new byte[file.Length - start];
            Array.Copy(file, start, dataSet, 0, dataSet.Length);
            return (sopClass, sop, parsed.TransferSyntax, dataSet);
        }

        /// <summary>
        /// A flat identifier (no sequences) in ascending tag order: keys are "ggggeeee" hex tags with a VR and a value
        /// (empty: return this attribute). Explicit or implicit VR little endian.
        /// </summary>
        public static byte[] Identifier(IEnumerable<(string Tag, string Vr, string Value)> keys, bool explicitVr)
        {
            var s = new MemoryStream();
            foreach (var (tagText, vr, value) in keys.OrderBy(k => Convert.ToUInt32(k.Tag, 16)))
            {
                uint tag = Convert.ToUInt32(tagText, 16);
                var bytes = Encoding.ASCII.GetBytes(value);
                if ((bytes.Length & 1) == 1) { Array.Resize(ref bytes, bytes.Length + 1); bytes[bytes.Length - 1] = vr == "UI" ? (byte)0 : (byte)' '; }
                s.WriteByte((byte)(tag >> 16)); s.WriteByte((byte)(tag >> 24)); s.WriteByte((byte)tag); s.WriteByte((byte)(tag >> 8));
                if (explicitVr)
                {
                    s.WriteByte((byte)vr[0]); s.WriteByte((byte)vr[1]);
                    s.WriteByte((byte)bytes.Length); s.WriteByte((byte)(bytes.Length >> 8));
                }
                else
                {
                    s.WriteByte((byte)bytes.Length); s.WriteByte((byte)(bytes.Length >> 8)); s.WriteByte(0); s.WriteByte(0);
                }
                s.Write(bytes, 0, bytes.Length);
            }
            return s.ToArray();
        }
    }
}
