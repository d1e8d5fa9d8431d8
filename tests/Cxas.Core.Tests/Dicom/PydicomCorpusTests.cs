using System.Threading.Tasks;
using Cxas.Dicom;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>
    /// pydicom's own test files (installed by python3-pydicom, read where it put them) as a corpus no one here wrote:
    /// pydicom_corpus.py records what pydicom makes of each file, and every outcome must have its Cxas counterpart.
    /// <list type="bullet">
    /// <item>pydicom decodes the pixels: Cxas decodes them alike (stored values of frame 0, and the grey image its
    /// documented pipeline makes, against the same pipeline built from pydicom's LUT functions), or refuses the file as
    /// NotSupported for one of the reasons docs/dicom.md lists (<see cref="NotSupportedKinds"/>).</item>
    /// <item>pydicom finds no pixels or fails: Cxas fails too, with a <see cref="CxasException"/> naming the file.</item>
    /// </list>
    /// </summary>
    public sealed class PydicomCorpusTests : IDisposable
    {
        /// <summary>What Cxas refuses on purpose (docs/dicom.md, "Not supported"): a fragment of the NotSupported message and why.</summary>
        internal static readonly (string Message, string Why)[] NotSupportedKinds =
        {
            ("1 bits allocated per sample are not supported", "bit-packed binary images (segmentations), not radiographs"),
            ("unsigned 32-bit stored values are not supported", "RT dose grids and 32-bit RGB: no radiograph stores them"),
        };

        /// <summary>
        /// Files whose pixel_array is not pydicom's decoding, and the file that stands in as their oracle. The codestream of
        /// JPEG2000-embedded-sequence-delimiter.dcm is JPEG2000.dcm's with four SIZ bytes overwritten (pydicom's README:
        /// "almost certainly not a valid JPEG anymore"): GDCM reports "opj_setup_decoder failure" yet returns its
        /// uninitialised output buffer, which differs from run to run, and Pillow refuses the 3.8e12-pixel size.
        /// </summary>
        private static readonly Dictionary<string, string> StandIns = new Dictionary<string, string>
        {
            ["JPEG2000-embedded-sequence-delimiter.dcm"] = "JPEG2000.dcm",
        };

        /// <summary>Transfer syntaxes whose decoders may differ by one (rounding of the inverse DCT or wavelet).</summary>
        private static readonly HashSet<string> Lossy = new HashSet<string>
        {
            "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91",
        };

        private readonly ITestOutputHelper _out;
        private readonly string _dir = TestSupport.NewTempDir("cxas-pydcorpus");

        public PydicomCorpusTests(ITestOutputHelper output) => _out = output;

        public void Dispose() => Directory.Delete(_dir, true);

        /// <summary>Where python3-pydicom keeps its test files, as the installed pydicom itself says.</summary>
        private static string Corpus() =>
            TestSupport.Python("import os, pydicom.data; print(os.path.join(os.path.dirname(pydicom.data.__file__), 'test_files'))").Trim();

        /// <summary>Runs pydicom_corpus.py over the corpus into the test's folder: the manifest's rows by file name.</summary>
        private Dictionary<string, string[]> RunOracle(string corpus)
        {
            Assert.True(Directory.Exists(corpus), $"no test files at {corpus}");
            TestSupport.PythonFile(Path.Combine(TestSupport.RepoRoot, "tests", "Cxas.Core.Tests", "Dicom", "pydicom_corpus.py"), corpus, _dir);
            return File.ReadAllLines(Path.Combine(_dir, "manifest.tsv")).Select(l => l.Split('\t')).ToDictionary(f => f[1]);
        }

        /// <summary>The decoder test corpora Debian packages install: pydicom's (165 files, 81 of whose pixels pydicom decodes); dicom3tools ships
        /// one example image. GDCM's gdcmData and dcmtk's test images are not packaged.</summary>
        public static TheoryData<string, int> Corpora => new TheoryData<string, int> { { "pydicom", 60 }, { Dicom3ToolsExamples, 1 } };

        private const string Dicom3ToolsExamples = "/usr/share/doc/dicom3tools/examples";

        [OracleTheory("pydicom", "dciodvfy")]
        [MemberData(nameof(Corpora))]
        public void EveryFilePydicomDecodesIsDecodedAlikeOrRefusedForADocumentedReason(string which, int leastAlike)
        {
            Oracles.Require("pydicom", "dciodvfy");
            var corpus = which == "pydicom" ? Corpus() : which;
            var manifest = RunOracle(corpus);
            var failures = new List<string>();
            var tally = new Dictionary<string, int>();
            foreach (var f in manifest.Values.OrderBy(f => f[1], StringComparer.Ordinal))
            {
                string name = f[1], outcome = f[2], detail = f[4];
                var oracle = StandIns.TryGetValue(name, out var standIn) ? manifest[standIn] : f;
                string index = oracle[0], photometric = oracle[3];
                var path = Path.Combine(corpus, name);
                var (image, error) = Load(path);
                string verdict;
                if (outcome != "decoded")
                {
                    // pydicom finds nothing to decode: Cxas must say why, naming the file.
                    verdict = error != null && error.Message.Contains(path) ? $"refused alike ({error.Kind})"
                        : error != null ? $"FAIL: error does not name the file: {error.Message}" : "FAIL: Cxas decodes what pydicom cannot";
                }
                else if (error != null)
                {
                    var kind = NotSupportedKinds.FirstOrDefault(k => error.Kind == CxasErrorKind.NotSupported && error.Message.Contains(k.Message));
                    verdict = kind.Message != null ? "not supported: " + kind.Message : $"FAIL: pydicom decodes it, Cxas: {error.Kind}: {error.Message}";
                }
                else
                {
                    verdict = Compare(path, image!, Path.Combine(_dir, index), photometric, Lossy.Contains(detail)) ?? "decoded alike";
                }
                _out.WriteLine($"{name}: pydicom {outcome}{(detail.Length > 0 ? " (" + detail + ")" : "")}{(standIn != null ? ", compared with " + standIn : "")}; Cxas {verdict}");
                if (verdict.StartsWith("FAIL", StringComparison.Ordinal)) failures.Add($"{name}: {verdict}");
                var key = verdict.StartsWith("FAIL", StringComparison.Ordinal) ? "FAIL" : verdict.Split(':')[0];
                tally[key] = tally.TryGetValue(key, out var n) ? n + 1 : 1;
            }
            _out.WriteLine(string.Join(", ", tally.OrderBy(t => t.Key).Select(t => $"{t.Key}: {t.Value}")));
            Assert.Empty(failures);
            // The corpus is there in full (pydicom 2.3 decodes 81 of its 165 files: 68 .dcm, a DICOMDIR tree of images, others).
            Assert.True(tally.TryGetValue("decoded alike", out var alike) && alike >= leastAlike, $"only {alike} files decoded alike");
        }

        /// <summary>
        /// Files Cxas refused before issue 27 go through the whole segmentation: every mask pixel of the closed-form model
        /// (class k where the grey exceeds threshold k) follows its rule applied to pydicom's grey image (JPEG2000.dcm's for
        /// the damaged codestream), sampled with PyTorch's nearest rule both ways. Pixels within 1e-3 of a threshold are
        /// not judged: the two grey images may differ by 1e-4.
        /// </summary>
        [OracleTheory("pydicom")]
        [InlineData("SC_ybr_full_422_uncompressed.dcm")]
        [InlineData("JPEG2000-embedded-sequence-delimiter.dcm")]
        [InlineData("MR_small.dcm")] // a TIFF header in its preamble
        public void FilesOnceRefusedSegmentAsPydicomSeesThem(string name)
        {
            Oracles.Require("pydicom");
            var corpus = Corpus();
            var manifest = RunOracle(corpus);
            var row = manifest[StandIns.TryGetValue(name, out var standIn) ? standIn : name];
            var truth = Npy.Read(Path.Combine(_dir, row[0] + ".grey.npy"));
            int height = (int)truth.Shape[0], width = (int)truth.Shape[1];
            var grey = truth.Floats();
            const int classes = 6, inputSize = 64;
            var segmenter = new Segmenter(CxasModel.Load(TestSupport.WriteClosedFormModel(_dir, classes, inputSize)), DeviceSpec.Cpu);
            var result = segmenter.Segment(Path.Combine(corpus, name));
            Assert.Equal("DICOM", result.Source.Format);
            Assert.Equal((width, height), (result.Width, result.Height));
            long judged = 0;
            for (int k = 0; k < classes; k++)
                for (int y = 0; y < height; y++)
                {
                    int sy = Segmentation.PipelineTests.TorchNearest(Segmentation.PipelineTests.TorchNearest(y, inputSize, height), height, inputSize);
                    for (int x = 0; x < width; x++)
                    {
                        int sx = Segmentation.PipelineTests.TorchNearest(Segmentation.PipelineTests.TorchNearest(x, inputSize, width), width, inputSize);
                        float v = grey[sy * width + sx], threshold = ClosedFormModel.Threshold(k);
                        if (Math.Abs(v - threshold) < 1e-3) continue;
                        judged++;
                        if (result.Masks[k, x, y] != v > threshold) Assert.Fail($"class {k} pixel ({x},{y}): grey {v}, threshold {threshold}, mask {result.Masks[k, x, y]}");
                    }
                }
            _out.WriteLine($"{name}: {judged} of {(long)classes * width * height} mask pixels judged; warnings: {string.Join("; ", result.Source.Warnings)}");
            Assert.True(judged > 0.95 * classes * width * height, $"only {judged} mask pixels could be judged");
        }

        /// <summary>Cxas's reading of a file through the default configuration: the image, or the CxasException it raised.
        /// Any other exception, or no answer within a minute, is a defect of its own.</summary>
        private static (SourceImage? Image, CxasException? Error) Load(string path)
        {
            var read = Task.Run(() => ImageLoader.Load(path));
            if (!((IAsyncResult)read).AsyncWaitHandle.WaitOne(TimeSpan.FromMinutes(1))) throw new TimeoutException($"{path}: no answer within a minute");
            return read.Exception?.InnerException is CxasException ex ? (null, ex) : (read.Result, null);
        }

        /// <summary>
        /// Cxas against pydicom: size; stored values of frame 0, every sample, equal or, from a lossy syntax, within 1; then
        /// the grey image, to 1e-4 at every pixel whose samples are equal. Where pydicom converted the colour space itself, its
        /// grey image is the only comparison, within 2 levels of the sample range. Null when alike.
        /// </summary>
        private string? Compare(string path, SourceImage image, string oracle, string oraclePhotometric, bool lossy)
        {
            if (image.Info.Format != "DICOM") return $"FAIL: read as {image.Info.Format}";
            var stored = Npy.Read(oracle + ".stored.npy");
            int rows = (int)stored.Shape[0], cols = (int)stored.Shape[1];
            if (image.Width != cols || image.Height != rows) return $"FAIL: {image.Width}x{image.Height}, pydicom {cols}x{rows}";
            var file = DicomParser.ReadFile(path);
            var d = DicomPixels.Describe(file);
            var grey = ((GrayRaster)image.Raster).Values;
            var truth = Npy.Read(oracle + ".grey.npy").Floats();
            double worstGrey = 0;
            if (oraclePhotometric != d.Photometric)
            {
                for (int i = 0; i < truth.Length; i++) worstGrey = Math.Max(worstGrey, Math.Abs(grey[i] - truth[i]));
                double levels = 2.0 / ((1 << Math.Min(d.BitsStored, 16)) - 1);
                return worstGrey <= levels ? null : $"FAIL: grey image differs from pydicom's by up to {worstGrey:G3} (allowed {levels:G3})";
            }
            var ours = DicomPixels.DecodeFirstFrame(file, d).Values;
            var theirs = stored.Ints();
            if (ours.Length != theirs.Length) return $"FAIL: {ours.Length} samples, pydicom {theirs.Length}";
            int spp = d.SamplesPerPixel;
            long worst = 0;
            for (int p = 0; p < truth.Length; p++)
            {
                long e = 0;
                for (int s = 0; s < spp; s++) e = Math.Max(e, Math.Abs((long)ours[p * spp + s] - theirs[p * spp + s]));
                worst = Math.Max(worst, e);
                if (e == 0) worstGrey = Math.Max(worstGrey, Math.Abs(grey[p] - truth[p]));
            }
            if (worst > (lossy ? 1 : 0)) return $"FAIL: stored values differ from pydicom's by up to {worst}";
            return worstGrey <= 1e-4 ? null : $"FAIL: grey image differs from pydicom's pipeline by up to {worstGrey:G3}";
        }

    }
}
