using Cxas.Core.Tests.Dicom;
using Cxas.DicomWeb;
using Cxas.Rendering;
using Cxas.Runs;

namespace Cxas.Core.Tests.Runs
{
    /// <summary>
    /// The run decodes with the reader configuration its options hand it, not a process-wide one: a configuration of
    /// the caller's own (here one that reads TIFF only) reaches the files the run decodes. Its ONNX session is its own
    /// (disposed at its end) or the owner's it is handed (kept for the next run).
    /// </summary>
    public class RunConfigurationTests : TempFolderTests
    {
        private sealed class RecordingHost : IRunHost
        {
            public readonly List<Exception> Failures = new List<Exception>();
            public bool ShouldProcess(string target, string action) => true;
            public bool WritesNothing => false;
            public bool Stopping => false;
            public void Verbose(string message) { }
            public void Warning(string message) { }
            public string? Advice(CxasRemedy remedy) => null;
            public void InputFailed(Exception error, string path) => Failures.Add(error);
            public void OutputFailed(Exception error, string? target) => Failures.Add(error);
            public void Step(string path) { }
        }

        private List<SegmentationResult> Run(SegmentationRunOptions options, RecordingHost host, string file) =>
            Run(options, host, new InputFile(file));

        private List<SegmentationResult> Run(SegmentationRunOptions options, RecordingHost host, InputFile input)
        {
            using var run = new SegmentationRun(options, host);
            var results = run.Add(input).ToList();
            results.AddRange(run.Finish());
            return results;
        }

        [Fact]
        public void TheRunReadsWithTheConfigurationItIsGiven()
        {
            var model = CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, 3, 32));
            var canvas = new RgbaCanvas(40, 30);
            canvas.FillRect(0, 0, 40, 30, new Rgba(200, 100, 50, 255));
            var png = Path.Combine(Dir, "chest.png");
            File.WriteAllBytes(png, canvas.ToPng());

            var byDefault = new RecordingHost();
            Assert.Single(Run(new SegmentationRunOptions(model), byDefault, png));
            Assert.Empty(byDefault.Failures);

            var tiffOnly = new RecordingHost();
            var options = new SegmentationRunOptions(model) { Configuration = new CxasConfiguration(new ImageReaderConfiguration(null, new TiffReader())) };
            Assert.Empty(Run(options, tiffOnly, png));
            var error = Assert.IsType<CxasException>(Assert.Single(tiffOnly.Failures));
            Assert.Equal(CxasErrorKind.InvalidData, error.Kind);
            Assert.Contains("TIFF", error.Message);
        }

        /// <summary>
        /// An instance from a PACS (fetched by a function, as a DIMSE C-GET is; a DICOMweb one goes through the same
        /// reader) decodes with the run's configuration too: the default's decodes it as the file it came from, one that
        /// reads TIFF only refuses it as NotSupported, naming the instance.
        /// </summary>
        [Fact]
        public void APacsInstanceDecodesWithTheRunsConfiguration()
        {
            var model = CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, 3, 32));
            var file = Path.Combine(Dir, "cr.dcm");
            SyntheticDicom.Write(file, SyntheticDicom.Image(40, 56, 12, 9), new SyntheticDicom.Options { Rows = 40, Columns = 56 });
            var bytes = File.ReadAllBytes(file);
            const string uri = "dimse://PACS/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5";
            InputFile Input() => new DicomInstance { Uri = uri, SopInstanceUid = "1.2.3.4.5", Retrieve = _ => bytes }.ToInput();

            var byDefault = new RecordingHost();
            var result = Assert.Single(Run(new SegmentationRunOptions(model), byDefault, Input()));
            Assert.Empty(byDefault.Failures);
            Assert.Equal((56, 40, "DICOM"), (result.Width, result.Height, result.Source.Format));
            Assert.Equal(ImageLoader.Load(file).Raster.Width, result.Width);

            var tiffOnly = new RecordingHost();
            var options = new SegmentationRunOptions(model) { Configuration = new CxasConfiguration(new ImageReaderConfiguration(null, new TiffReader())) };
            Assert.Empty(Run(options, tiffOnly, Input()));
            var error = Assert.IsType<CxasException>(Assert.Single(tiffOnly.Failures));
            Assert.Equal(CxasErrorKind.NotSupported, error.Kind);
            Assert.Contains(uri, error.Message);
            Assert.Contains("reads no DICOM", error.Message);
        }

        /// <summary>A run given no owner disposes its own session when it ends; one given an owner leaves it loaded for the next run.</summary>
        [Fact]
        public void ARunDisposesItsOwnSessionAndKeepsAnOwnersForTheNextRun()
        {
            var model = CxasModel.Load(TestSupport.WriteClosedFormModel(Dir, 3, 16));
            var image = new SourceImage(new GrayRaster(16, 16, new float[256]), new SourceInfo("flat", ""));
            var alone = new SegmentationRun(new SegmentationRunOptions(model), new RecordingHost());
            alone.Segmenter.Segment(image, TimeSpan.Zero);
            alone.Dispose();
            Assert.Throws<ObjectDisposedException>(() => alone.Segmenter.Segment(image, TimeSpan.Zero));

            using var sessions = new Cxas.Inference.ModelSessions();
            var options = new SegmentationRunOptions(model) { Sessions = sessions };
            Cxas.Inference.ModelSession first;
            using (var run = new SegmentationRun(options, new RecordingHost())) first = sessions.Get(model, DeviceSpec.Cpu);
            using (var run = new SegmentationRun(options, new RecordingHost()))
            {
                run.Segmenter.Segment(image, TimeSpan.Zero);
                Assert.Same(first, sessions.Get(CxasModel.Load(model.Directory), DeviceSpec.Cpu));
            }
            Assert.Equal(1, sessions.Count);
        }
    }
}
