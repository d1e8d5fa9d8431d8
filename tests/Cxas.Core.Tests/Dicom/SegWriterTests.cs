using System.Text.Json;
using Cxas.Dicom;
using Cxas.Dicom.Seg;
using Cxas.Export;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// DICOM-SEG output checked by independent tools: dciodvfy (IOD), dcentvfy (source/SEG consistency), pydicom (frames
    /// unpacked), dcmjs (npm). Masks are built directly, no model needed.
    /// </summary>
    public sealed class SegWriterTests : TempFolderTests
    {
        public SegWriterTests(ITestOutputHelper output) : base("cxas-seg", output) { }

        /// <summary>Classes of several kinds: SNOMED-coded, lateral, both sides, privately coded, and two left empty.</summary>
        private static readonly string[] Labels =
        {
            "lung", "right lung", "left lung", "heart", "posterior 3rd rib left", "clavicles", "tracheal bifurcation",
            "vertebrae T11", "stomach", "breast right", "left mid zone lung",
        };
        private static readonly HashSet<string> EmptyLabels = new HashSet<string> { "stomach", "breast right" };

        private static MaskSet BuildMasks(IReadOnlyList<string> labels, int width, int height, int seed)
        {
            var masks = new MaskSet(labels, 40, 36, width, height);
            var rng = new Random(seed);
            for (int c = 0; c < labels.Count; c++)
            {
                if (EmptyLabels.Contains(labels[c])) continue;
                // an ellipse plus speckle, different per class
                double cx = rng.Next(8, 32), cy = rng.Next(8, 28), rx = rng.Next(3, 12), ry = rng.Next(3, 12);
                for (int gy = 0; gy < masks.GridHeight; gy++)
                    for (int gx = 0; gx < masks.GridWidth; gx++)
                    {
                        double u = (gx - cx) / rx, v = (gy - cy) / ry;
                        if (u * u + v * v <= 1 || rng.NextDouble() < 0.03) masks.SetGridBit(c, gx, gy, true);
                    }
            }
            return masks;
        }

        private static SegmentationResult Result(string sourcePath, SourceInfo info, MaskSet masks) =>
            new SegmentationResult(info, masks.Width, masks.Height, "UNet_ResNet50_default", "/models/x", "cpu", masks, TimeSpan.Zero, TimeSpan.Zero);

        private string WriteSource(int rows, int cols, string name = "source.dcm")
        {
            var path = Path.Combine(Dir, name);
            var o = new SyntheticDicom.Options { Rows = rows, Columns = cols, BitsStored = 12, ImagerPixelSpacing = "0.2\\0.2" };
            SyntheticDicom.Write(path, SyntheticDicom.Image(rows, cols, 12, 5), o);
            return path;
        }

        private (string Seg, SegmentationResult Result, int[] Expected) Export(string source, IReadOnlyList<string> labels, int seed = 3)
        {
            var image = ImageLoader.Load(source);
            var masks = BuildMasks(labels, image.Width, image.Height, seed);
            var result = Result(source, image.Info, masks);
            var outDir = Path.Combine(Dir, "out");
            using var exporter = new MaskExporter(outDir, MaskFormat.DicomSeg, overwrite: false);
            var record = exporter.Export(result)[0];
            Assert.Equal(Path.Combine(outDir, Path.GetFileNameWithoutExtension(source) + ".seg.dcm"), record.OutputPath);
            Assert.True(File.Exists(record.OutputPath));
            var expected = Enumerable.Range(0, labels.Count).Where(c => masks.PixelCounts[c] > 0).ToArray();
            Assert.Equal(expected.Length, record.Classes);
            return (record.OutputPath, result, expected);
        }

        [OracleFact("dciodvfy", "dcentvfy", "pydicom", "dcmjs")]
        public void SegOfOddSizedCrIsValidAndReadsBackIdentically()
        {
            // 61 x 97 = 5917 bits per frame: frames start mid-byte, so packing must run on across frames.
            var source = WriteSource(61, 97);
            var (seg, result, expected) = Export(source, Labels);
            Assert.Equal(Labels.Length - EmptyLabels.Count, expected.Length);
            CheckWithDciodvfy(seg);
            CheckWithDcentvfy(source, seg);
            CheckWithPydicom(seg, result, expected);
            CheckWithDcmjs(seg, result, expected);
        }

        [OracleFact("shared", "dciodvfy", "dcentvfy", "pydicom", "dcmjs")]
        public void SegOfRealSharedFilesIsValid()
        {
            Oracles.Require("shared");
            var shared = TestSupport.Shared!;
            foreach (var name in new[] { "cr_mono1_10bit_nopreamble.dcm", "dx_secondary_capture.dcm", "cr_jpeg_baseline.dcm" })
            {
                var src = Path.Combine(shared, "dicom", "real", name);
                var (seg, result, expected) = Export(src, Labels, seed: name.Length);
                CheckWithDciodvfy(seg);
                CheckWithDcentvfy(src, seg);
                CheckWithPydicom(seg, result, expected);
                CheckWithDcmjs(seg, result, expected);
                File.Delete(seg);
            }
        }

        [Fact]
        public void PngSourceIsRefusedWithAClearReason()
        {
            var png = Path.Combine(Dir, "chest.png");
            using (var img = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(20, 10))
                SixLabors.ImageSharp.ImageExtensions.SaveAsPng(img, png);
            var image = ImageLoader.Load(png);
            var result = Result(png, image.Info, BuildMasks(Labels, 20, 10, 1));
            using var exporter = new MaskExporter(Path.Combine(Dir, "out"), MaskFormat.DicomSeg, overwrite: false);
            var ex = Assert.Throws<CxasException>(() => exporter.Export(result));
            Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
            Assert.Contains("no DICOM identity", ex.Message);
            Assert.Equal(png, ex.FilePath);
            Assert.False(Directory.Exists(Path.Combine(Dir, "out")) && Directory.EnumerateFileSystemEntries(Path.Combine(Dir, "out")).Any());
        }

        [Fact]
        public void AllEmptyMasksWriteNothingAndSaySo()
        {
            var source = WriteSource(30, 40, "empty.dcm");
            var image = ImageLoader.Load(source);
            var masks = new MaskSet(new[] { "heart", "lung" }, 8, 8, 40, 30);
            using var exporter = new MaskExporter(Path.Combine(Dir, "out"), MaskFormat.DicomSeg, overwrite: false);
            var ex = Assert.Throws<CxasException>(() => exporter.Export(Result(source, image.Info, masks)));
            Assert.Equal(CxasErrorKind.NotSupported, ex.Kind);
            Assert.Contains("at least one non-empty segment", ex.Message);
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Dir, "out")));
        }

        [OracleTheory("dciodvfy", "pydicom", "dcmjs")]
        [InlineData("1.2.840.10008.5.1.4.1.1.7.3", "1")] // Multi-frame Grayscale Word Secondary Capture: frame 1 referenced
        [InlineData(SyntheticDicom.CrStorage, null)]      // CR is single-frame by definition: no frame number
        public void MultiFrameSourceIsReferencedByFrameWhereItsClassAllows(string sopClass, string? frameNumber)
        {
            var path = Path.Combine(Dir, "multi.dcm");
            SyntheticDicom.Write(path, SyntheticDicom.Image(30, 40, 12, 4), new SyntheticDicom.Options { Rows = 30, Columns = 40, Frames = 2, SopClass = sopClass });
            var (seg, result, expected) = Export(path, Labels);
            CheckWithDciodvfy(seg);
            CheckWithPydicom(seg, result, expected);
            CheckWithDcmjs(seg, result, expected);
            var parsed = DicomParser.ReadFile(seg).Dataset;
            var frame = parsed.FirstItem(0x52009230)!.FirstItem(0x00089124)!.FirstItem(0x00082112)!;
            Assert.Equal(frameNumber, frame.GetString(0x00081160));
        }

        /// <summary>
        /// The source's identity travels with a result, through <see cref="ResultTransfer"/> too (a remote session, a job):
        /// the SEG of a rebuilt result, its source gone, is the same as the decoded one's. (Before the identity was typed it
        /// did not travel: a rebuilt result read its source file again, and failed without it.)
        /// </summary>
        [Fact]
        public void SegOfADecodedOrTransferredResultNeedsNoSourceFileAndMatchesTheOneReadFromIt()
        {
            var source = WriteSource(61, 97, "moved.dcm");
            var image = ImageLoader.Load(source);
            var result = Result(source, image.Info, BuildMasks(Labels, image.Width, image.Height, 9));
            var classes = Enumerable.Range(0, Labels.Length).ToList();
            var when = new DateTime(2025, 3, 4, 5, 6, 7);
            var seg = ResultSeg.Build(result, classes, when);
            var captured = seg.Encode();
            var uids = seg.Uids;

            // A result built by hand without the identity reads it from the file, and its SEG is the same.
            var info = image.Info;
            var handMade = new SourceInfo(info.Path, info.Format);
            var reread = ResultSeg.Build(new SegmentationResult(handMade, result.Width, result.Height, result.Model, "/models/x", "cpu", result.Masks,
                TimeSpan.Zero, TimeSpan.Zero), classes, when);
            Assert.Equal(captured, reread.Encode());
            Assert.Equal(uids.Instance, reread.Uids.Instance);

            // With the source gone, the decoded result and the one that crossed a process boundary still give the same bytes.
            var transferred = ResultTransfer.Unpack(ResultTransfer.Pack(result)!);
            File.Move(source, source + ".away");
            Assert.Equal(captured, ResultSeg.Build(result, classes, when).Encode());
            Assert.Equal(captured, ResultSeg.Build(transferred, classes, when).Encode());
            var transferredFile = Path.Combine(Dir, "transferred.seg.dcm");
            Assert.Equal(uids.Instance, SegSink.Send(transferred, classes, new SegFileDestination(transferredFile, overwrite: false)).SopInstanceUid);
            // And the file export writes it, with the SOP Instance UID derived from the source and the model.
            using var exporter = new MaskExporter(Path.Combine(Dir, "out"), MaskFormat.DicomSeg, overwrite: false);
            var record = exporter.Export(result)[0];
            Assert.Equal(uids.Instance, record.SopInstanceUid);
            Assert.Equal(DicomSegBuilder.SegmentationStorage, DicomParser.ReadFile(record.OutputPath).Dataset.GetString(Tags.SopClassUid));
        }

        [Fact]
        public void PackingRunsBitsOnAcrossFramesLeastSignificantFirst()
        {
            var labels = new[] { "heart", "lung" };
            var masks = new MaskSet(labels, 3, 3, 3, 3); // 9 pixels per frame
            masks.SetGridBit(0, 0, 0, true);  // frame 0 pixel 0 -> bit 0
            masks.SetGridBit(0, 2, 2, true);  // frame 0 pixel 8 -> bit 8
            masks.SetGridBit(1, 1, 0, true);  // frame 1 pixel 1 -> bit 10
            masks.SetGridBit(1, 2, 2, true);  // frame 1 pixel 8 -> bit 17
            var bytes = DicomSegBuilder.PackFrames(masks, new[] { 0, 1 });
            Assert.Equal(new byte[] { 0b0000_0001, 0b0000_0101, 0b0000_0010 }, bytes);
        }

        [OracleFact("shared")]
        public void CodingTableCoversEveryReferenceClassWithoutFalseCodes()
        {
            Oracles.Require("shared");
            var shared = TestSupport.Shared!;
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(shared, "docs", "reference-labels.json")));
            var labels = doc.RootElement.GetProperty("label_dict").EnumerateObject().Select(p => p.Value.GetString()!).ToList();
            Assert.Equal(159, labels.Count);
            var seen = new Dictionary<string, string>();
            foreach (var label in labels)
            {
                Assert.True(SegCoding.IsKnown(label), $"'{label}' is not in the coding table");
                var c = SegCoding.For(label);
                Assert.Equal("123037004", c.Category.Value);
                var key = $"{c.Type.Value}^{c.Type.Scheme}^{c.Modifier?.Value}";
                Assert.False(seen.ContainsKey(key), $"'{label}' and '{(seen.TryGetValue(key, out var o) ? o : "")}' share the code {key}");
                seen[key] = label;
                // Sided names carry the matching laterality, unless the concept itself is sided or the code is private.
                if (!c.IsPrivate && (label.Contains("left") || label.Contains("right")) && !c.Type.Meaning.StartsWith("Left") &&
                    !c.Type.Meaning.StartsWith("Right") && !c.Type.Meaning.Contains("right lung"))
                    Assert.Equal(label.Contains("left") ? "7771000" : "24028007", c.Modifier?.Value);
                // Rib parts and lung zones are never given a whole-structure SNOMED code.
                if (label.StartsWith("anterior") || label.StartsWith("posterior") || label.Contains("zone") || label.Contains("hemidiaphragm"))
                    Assert.True(c.IsPrivate, $"'{label}' must be coded privately");
                if (c.IsPrivate) Assert.Equal(label, c.Type.Meaning);
            }
            Assert.Equal(159, SegCoding.KnownCount);
        }

        // ------------------------------------------------------------------ independent checks

        private void CheckWithDciodvfy(string seg)
        {
            Oracles.Require("dciodvfy");
            var tool = TestSupport.Tool("dciodvfy")!;
            var r = TestSupport.Run(tool, new[] { seg });
            var lines = (r.Out + "\n" + r.Err).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            foreach (var l in lines) Out.WriteLine("dciodvfy: " + l);
            Assert.DoesNotContain(lines, l => l.StartsWith("Error", StringComparison.Ordinal));
            // Warnings that are accepted are listed (and justified) in AcceptedDciodvfyWarnings; anything else fails.
            var unexpected = lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal) && !AcceptedDciodvfyWarnings.Any(l.Contains)).ToList();
            Assert.Empty(unexpected);
        }

        /// <summary>dciodvfy warnings accepted for our SEGs (see the report for why).</summary>
        internal static readonly string[] AcceptedDciodvfyWarnings =
        {
            // Our private coding scheme: dciodvfy only knows standard designators; 99CXAS is declared in CodingSchemeIdentificationSequence.
            "Unrecognized defined term <99CXAS> for value 1 of attribute <Coding Scheme Designator>",
            // Patient/study attributes are copied from the source as they are: when the source leaves them empty, so does the SEG
            // (inventing a patient ID or study date would be worse).
            "Missing attribute or value that would be needed to build DICOMDIR",
            // The same: a source's patient name in an old form is copied unchanged.
            "Retired Person Name form",
        };

        private void CheckWithDcentvfy(string source, string seg)
        {
            Oracles.Require("dcentvfy");
            var tool = TestSupport.Tool("dcentvfy")!;
            var r = TestSupport.Run(tool, new[] { source, seg });
            var text = (r.Out + "\n" + r.Err).Trim();
            if (text.Length > 0) Out.WriteLine("dcentvfy: " + text);
            Assert.DoesNotContain("Error", text);
            Assert.Equal(0, r.Exit);
        }

        private void CheckWithPydicom(string seg, SegmentationResult result, int[] expected)
        {
            Oracles.Require("pydicom");
            var npy = Path.Combine(Dir, "frames.npy");
            const string script =
                "import sys, json, numpy as np, pydicom\n" +
                "d = pydicom.dcmread(sys.argv[1])\n" +
                "a = d.pixel_array.reshape(int(d.NumberOfFrames), d.Rows, d.Columns)\n" +
                "np.save(sys.argv[2], np.ascontiguousarray(a.astype('<i4')))\n" +
                "segs = [dict(n=int(s.SegmentNumber), label=str(s.SegmentLabel), type=s.SegmentedPropertyTypeCodeSequence[0].CodeValue,\n" +
                "  scheme=s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator) for s in d.SegmentSequence]\n" +
                "frames = [int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber) for f in d.PerFrameFunctionalGroupsSequence]\n" +
                "src = [f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID for f in d.PerFrameFunctionalGroupsSequence]\n" +
                "print(json.dumps(dict(segs=segs, frames=frames, src=src, patient=str(d.PatientID), study=d.StudyInstanceUID,\n" +
                "  sop=d.SOPClassUID, bits=int(d.BitsAllocated), type=d.SegmentationType, alg=d.SegmentSequence[0].SegmentAlgorithmType,\n" +
                "  family=d.SegmentSequence[0].SegmentationAlgorithmIdentificationSequence[0].AlgorithmFamilyCodeSequence[0].CodeValue,\n" +
                "  algname=d.SegmentSequence[0].SegmentAlgorithmName)))\n";
            var r = TestSupport.Run(TestSupport.PythonPath, new[] { "-c", script, seg, npy });
            Assert.True(r.Exit == 0, "pydicom failed: " + r.Err);
            var frames = Npy.Read(npy).Ints();
            CompareFrames(frames, result.Masks, expected, "pydicom");
            using var doc = JsonDocument.Parse(r.Out);
            var root = doc.RootElement;
            Assert.Equal("1.2.840.10008.5.1.4.1.1.66.4", root.GetProperty("sop").GetString());
            Assert.Equal("BINARY", root.GetProperty("type").GetString());
            Assert.Equal("AUTOMATIC", root.GetProperty("alg").GetString());
            Assert.Equal("123110", root.GetProperty("family").GetString());
            Assert.Equal(result.Model, root.GetProperty("algname").GetString());
            Assert.Equal(1, root.GetProperty("bits").GetInt32());
            Assert.Equal(result.Source.PatientId ?? "", root.GetProperty("patient").GetString());
            Assert.Equal(result.Source.StudyInstanceUid, root.GetProperty("study").GetString());
            var segs = root.GetProperty("segs").EnumerateArray().ToList();
            Assert.Equal(expected.Length, segs.Count);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(i + 1, segs[i].GetProperty("n").GetInt32());
                var label = result.Masks.Labels[expected[i]];
                Assert.Equal(label, segs[i].GetProperty("label").GetString());
                Assert.Equal(SegCoding.For(label).Type.Value, segs[i].GetProperty("type").GetString());
            }
            Assert.Equal(Enumerable.Range(1, expected.Length), root.GetProperty("frames").EnumerateArray().Select(e => e.GetInt32()));
            Assert.All(root.GetProperty("src").EnumerateArray(), e => Assert.Equal(result.Source.SopInstanceUid, e.GetString()));
        }

        private void CheckWithDcmjs(string seg, SegmentationResult result, int[] expected)
        {
            var node = TestSupport.Tool("node");
            var js = TestSupport.RepoRoot == null ? null : Path.Combine(TestSupport.RepoRoot, "tests", "js");
            Oracles.Require("dcmjs");
            var bin = Path.Combine(Dir, "frames.bin");
            var r = TestSupport.Run(node!, new[] { Path.Combine(js!, "check-seg.js"), seg, bin }, js);
            Assert.True(r.Exit == 0, "dcmjs failed: " + r.Err);
            var bits = File.ReadAllBytes(bin).Select(b => (int)b).ToArray();
            CompareFrames(bits, result.Masks, expected, "dcmjs");
            using var doc = JsonDocument.Parse(r.Out);
            var root = doc.RootElement;
            Assert.Equal("SEG", root.GetProperty("modality").GetString());
            Assert.Equal(expected.Length, root.GetProperty("frames").GetInt32());
            var segs = root.GetProperty("segments").EnumerateArray().ToList();
            for (int i = 0; i < expected.Length; i++)
            {
                var coding = SegCoding.For(result.Masks.Labels[expected[i]]);
                Assert.Equal(result.Masks.Labels[expected[i]], segs[i].GetProperty("label").GetString());
                Assert.Equal($"{coding.Type.Value}^{coding.Type.Scheme}", segs[i].GetProperty("type").GetString());
                Assert.Equal(coding.Modifier == null ? null : $"{coding.Modifier.Value}^{coding.Modifier.Scheme}", segs[i].GetProperty("modifier").GetString());
                Assert.Equal("123037004^SCT", segs[i].GetProperty("category").GetString());
            }
        }

        private static void CompareFrames(int[] frames, MaskSet masks, int[] expected, string who)
        {
            int plane = masks.Width * masks.Height;
            Assert.True(frames.Length >= plane * expected.Length, $"{who}: {frames.Length} values for {expected.Length} frames");
            var row = new byte[masks.Width];
            for (int f = 0; f < expected.Length; f++)
                for (int y = 0; y < masks.Height; y++)
                {
                    masks.GetRow(expected[f], y, row);
                    for (int x = 0; x < masks.Width; x++)
                        if ((frames[f * plane + y * masks.Width + x] != 0) != (row[x] != 0))
                            Assert.Fail($"{who}: frame {f + 1} ({masks.Labels[expected[f]]}) differs at ({x},{y})");
                }
        }
    }
}
