using System.Text;
using System.Text.Json;
using Cxas.Core.Tests.Dimse;
using Cxas.Core.Tests.Install;
using Cxas.Dicom;
using Cxas.Dicom.Seg;
using Cxas.DicomWeb;
using Cxas.Dimse;
using Cxas.Export;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// The SEG builder checks what it is given on construction (source size, segments, each chosen class); the source's
    /// DICOM identity is read as pydicom reads the file and survives a result's transfer form; one built SEG sent to a
    /// file, to a STOW-RS server and to a DIMSE node (dcmtk's dcmqrscp) arrives as the same data set.
    /// </summary>
    public sealed class SegSinkTests : TempFolderTests
    {
        public SegSinkTests(ITestOutputHelper output) : base("cxas-seg-sink", output) { }

        private static readonly AlgorithmIdentification Algorithm = new AlgorithmIdentification("test-model", "1", DicomSegBuilder.ArtificialIntelligence);

        /// <summary>A synthetic CR of 30 rows by 40 columns, decoded; its path and decoded source.</summary>
        private (string Path, SourceImage Image) Source(string name = "src.dcm", int rows = 30, int cols = 40)
        {
            var path = Path.Combine(Dir, name);
            SyntheticDicom.Write(path, SyntheticDicom.Image(rows, cols, 12, 2),
                new SyntheticDicom.Options { Rows = rows, Columns = cols, ImagerPixelSpacing = "0.25\\0.2", PatientName = "Doe^Jane" });
            return (path, ImageLoader.Load(path));
        }

        /// <summary>Masks of three classes: "heart" and "lung" with a few pixels, "stomach" empty.</summary>
        private static MaskSet Masks(int width, int height)
        {
            var masks = new MaskSet(new[] { "heart", "lung", "stomach" }, 8, 6, width, height);
            masks.SetGridBit(0, 1, 1, true);
            masks.SetGridBit(0, 2, 1, true);
            masks.SetGridBit(1, 5, 4, true);
            return masks;
        }

        [Fact]
        public void BuilderRefusesMasksOfAnotherSizeThanTheSource()
        {
            var (path, image) = Source();
            var ex = Assert.Throws<CxasException>(() => new DicomSegBuilder(image.Info.Dicom!, Masks(41, 30), new[] { 0 }, Algorithm, sourceName: path));
            Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
            Assert.Equal(path, ex.FilePath);
            Assert.Contains("The masks are 41x30 but", ex.Message);
            Assert.Contains("is 40x30", ex.Message);
        }

        [Theory]
        [InlineData(new int[0], CxasErrorKind.NotSupported, "at least one non-empty segment")]
        [InlineData(new[] { 0, 2 }, CxasErrorKind.InvalidArgument, "the mask of 'stomach' is empty")]
        [InlineData(new[] { 1, 0, 1 }, CxasErrorKind.InvalidArgument, "class 1 is chosen twice")]
        [InlineData(new[] { 0, 3 }, CxasErrorKind.InvalidArgument, "class 3 is not one of the 3 classes")]
        public void BuilderRefusesNoSegmentsAndEmptyRepeatedOrUnknownClasses(int[] classes, CxasErrorKind kind, string reason)
        {
            var (path, image) = Source();
            var ex = Assert.Throws<CxasException>(() => new DicomSegBuilder(image.Info.Dicom!, Masks(40, 30), classes, Algorithm, sourceName: path));
            Assert.Equal(kind, ex.Kind);
            Assert.Equal(path, ex.FilePath);
            Assert.Contains(reason, ex.Message);
        }

        [Fact]
        public void BuilderRefusesASourceWithoutTheUidsItMustReference()
        {
            var identity = new DicomIdentity { SopClassUid = SyntheticDicom.CrStorage, StudyInstanceUid = "1.2.3", SeriesInstanceUid = "1.2.3.4", Rows = 30, Columns = 40 };
            var ex = Assert.Throws<CxasException>(() => new DicomSegBuilder(identity, Masks(40, 30), new[] { 0 }, Algorithm, sourceName: "pacs-instance"));
            Assert.Equal(CxasErrorKind.InvalidData, ex.Kind);
            Assert.Contains("'pacs-instance' has no SOP Instance UID", ex.Message);
        }

        /// <summary>The identity the reader captures, against pydicom's reading of the file, then through ResultTransfer.</summary>
        [OracleFact("pydicom")]
        public void TypedIdentityOfADecodedSourceMatchesPydicomAndSurvivesTransfer()
        {
            Oracles.Require("pydicom");
            var (path, image) = Source("identity.dcm");
            var identity = image.Info.Dicom!;
            var tags = string.Join(",", DicomIdentityReader.Copied.Select(c => c.Tag.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var json = TestSupport.Python(
                "import sys, json, pydicom\n" +
                "ds = pydicom.dcmread(sys.argv[1])\n" +
                "raw = {}\n" +
                "for t in sys.argv[2].split(','):\n" +
                "    e = ds.get_item(int(t))\n" +
                "    if e is not None: raw[t] = (e.value or b'').rstrip(b' \\x00').hex()\n" +
                "sp = ds.get('ImagerPixelSpacing')\n" +
                "print(json.dumps({'sopClass': ds.SOPClassUID, 'sop': ds.SOPInstanceUID, 'study': ds.StudyInstanceUID, 'series': ds.SeriesInstanceUID,\n" +
                "  'rows': ds.Rows, 'cols': ds.Columns, 'rowSpacing': float(sp[0]), 'colSpacing': float(sp[1]), 'raw': raw}))", path, tags);
            using var doc = JsonDocument.Parse(json);
            var truth = doc.RootElement;
            Assert.Equal(truth.GetProperty("sopClass").GetString(), identity.SopClassUid);
            Assert.Equal(truth.GetProperty("sop").GetString(), identity.SopInstanceUid);
            Assert.Equal(truth.GetProperty("study").GetString(), identity.StudyInstanceUid);
            Assert.Equal(truth.GetProperty("series").GetString(), identity.SeriesInstanceUid);
            Assert.Equal((truth.GetProperty("rows").GetInt32(), truth.GetProperty("cols").GetInt32()), (identity.Rows, identity.Columns));
            Assert.Equal((truth.GetProperty("rowSpacing").GetDouble(), truth.GetProperty("colSpacing").GetDouble()), (identity.RowSpacingMm!.Value, identity.ColumnSpacingMm!.Value));
            var raw = truth.GetProperty("raw").EnumerateObject().ToDictionary(p => uint.Parse(p.Name), p => p.Value.GetString()!);
            Assert.Contains(Tags.PatientName, raw.Keys);
            Assert.Equal(raw.OrderBy(p => p.Key), identity.Attributes.OrderBy(p => p.Key).Select(p => new KeyValuePair<uint, string>(p.Key, Convert.ToHexString(p.Value).ToLowerInvariant())));
            Assert.Equal("Doe^Jane", Encoding.ASCII.GetString(identity.Value(Tags.PatientName)));

            // Through the transfer form a remote session or a job uses: every value comes back.
            var masks = Masks(40, 30);
            var result = new SegmentationResult(image.Info, 40, 30, "test-model", "/m", "cpu", masks, TimeSpan.Zero, TimeSpan.Zero);
            var back = ResultTransfer.Unpack(ResultTransfer.Pack(result)!).Source.Dicom;
            Assert.NotNull(back);
            Assert.Equal(JsonSerializer.Serialize(identity), JsonSerializer.Serialize(back));
            Assert.Equal(identity.Attributes.Keys.OrderBy(k => k), back!.Attributes.Keys.OrderBy(k => k));
            foreach (var (tag, value) in identity.Attributes) Assert.Equal(value, back.Value(tag));
        }

        /// <summary>The server of a STOW-RS store: QIDO finds nothing, STOW answers that it stored the SEG.</summary>
        private static LoopbackHttpServer StowServer(string sopInstance) => new LoopbackHttpServer(r => new LoopbackHttpServer.Response
        {
            ContentType = "application/dicom+json",
            Body = Encoding.UTF8.GetBytes(r.Method != "POST" ? "[]" :
                "{\"00081199\":{\"vr\":\"SQ\",\"Value\":[{\"00081155\":{\"vr\":\"UI\",\"Value\":[\"" + sopInstance + "\"]}}]}}"),
        });

        [OracleFact("dcmqrscp", "pydicom")]
        public void FileAndStoreDestinationsOfOneSegCarryTheSameDataSet()
        {
            Oracles.Require("dcmqrscp", "pydicom");
            var (path, image) = Source("sent.dcm");
            var result = new SegmentationResult(image.Info, 40, 30, "test-model", "/m", "cpu", Masks(40, 30), TimeSpan.Zero, TimeSpan.Zero);
            var seg = ResultSeg.Build(result, new[] { 0, 1, 2 });
            Assert.Equal(2, seg.Content.Segments.Count); // the empty class is left out

            // A file.
            var file = Path.Combine(Dir, "out", "sent.seg.dcm");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            using var fileDestination = new SegFileDestination(file, overwrite: false);
            var written = fileDestination.Send(seg);
            Assert.Equal((file, seg.Uids.Instance, 2, new FileInfo(file).Length), (written.OutputPath, written.SopInstanceUid, written.Classes, written.Bytes));

            // STOW-RS: the object posted is the file, byte for byte.
            using var server = StowServer(seg.Uids.Instance);
            using var stow = new DicomSegStore(new DicomWebClient(server.Url("/dicom-web"), null, new DicomWebOptions { MaxAttempts = 1 }), force: false);
            var stored = stow.Send(seg);
            Assert.Equal((OutputStatus.Stored, seg.Uids.Instance), (stored.Status, stored.SopInstanceUid));
            var post = Assert.Single(server.Log, r => r.Method == "POST");
            var posted = Assert.Single(Multipart.Parse(post.Body, Multipart.Boundary(post.Header("Content-Type"))!)).Body;
            Assert.Equal(File.ReadAllBytes(file), posted);

            // C-STORE to dcmqrscp: the data set it keeps equals the file's, element for element, as pydicom reads both.
            using var qr = PeerProcess.QrScp("QRSCP");
            using var dimse = new DimseSegStore(new DimseClient(DimseFixtures.Peer(qr.Port, "QRSCP")), force: false);
            var sent = dimse.Send(seg);
            Assert.Equal((OutputStatus.Stored, seg.Uids.Instance), (sent.Status, sent.SopInstanceUid));
            var kept = Assert.Single(Directory.GetFiles(Path.Combine(qr.Folder, "db")), f => Path.GetFileName(f) != "index.dat");
            var verdict = TestSupport.Python(
                "import sys, pydicom, numpy as np\n" +
                "a = pydicom.dcmread(sys.argv[1]); b = pydicom.dcmread(sys.argv[2])\n" +
                "print('same' if a == b and a.SOPClassUID == '1.2.840.10008.5.1.4.1.1.66.4' and np.array_equal(a.pixel_array, b.pixel_array) else 'differ')",
                file, kept).Trim();
            Assert.Equal("same", verdict);
            // A second store finds it there and leaves it alone.
            Assert.Equal(OutputStatus.Exists, dimse.Send(seg).Status);
        }
    }
}
