using Cxas.Onnx;
using Cxas.Inference;

namespace Cxas.Core.Tests.Models
{
    public class ModelTests : TempFolderTests
    {
        private readonly ModelSessions _sessions = new ModelSessions();

        private string Model(int classes = 4, int size = 16) => TestSupport.WriteClosedFormModel(Dir, classes, size);

        public override void Dispose()
        {
            _sessions.Dispose();
            base.Dispose();
        }

        [Fact]
        public void MissingFilesAreInvalidModel()
        {
            var dir = Model();
            File.Delete(Path.Combine(dir, "model.onnx"));
            var ex = Assert.Throws<CxasException>(() => CxasModel.Load(dir));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("model.onnx", ex.Message);
            Assert.Equal(CxasErrorKind.NotFound, Assert.Throws<CxasException>(() => CxasModel.Load(Path.Combine(Dir, "none"))).Kind);
        }

        [Fact]
        public void LabelCountMustMatchOutputChannels()
        {
            var dir = Model(4);
            var manifest = ModelManifest.Load(Path.Combine(dir, "model.json"));
            manifest.Labels = new[] { "a", "b", "c" };
            manifest.Save(Path.Combine(dir, "model.json"));
            var ex = Assert.Throws<CxasException>(() => _sessions.Get(CxasModel.Load(dir), DeviceSpec.Cpu));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
            Assert.Contains("4 output channels", ex.Message);
            Assert.Contains("3 labels", ex.Message);
        }

        [Fact]
        public void InputSizeMustMatchTheManifest()
        {
            var dir = Model(2, 16);
            var manifest = ModelManifest.Load(Path.Combine(dir, "model.json"));
            manifest.Input.Width = 32;
            manifest.Save(Path.Combine(dir, "model.json"));
            var ex = Assert.Throws<CxasException>(() => _sessions.Get(CxasModel.Load(dir), DeviceSpec.Cpu));
            Assert.Contains("[N,3,16,32]", ex.Message);
        }

        [Fact]
        public void GarbageOnnxIsInvalidModel()
        {
            var dir = Model();
            File.WriteAllText(Path.Combine(dir, "model.onnx"), "not a protobuf at all");
            var ex = Assert.Throws<CxasException>(() => _sessions.Get(CxasModel.Load(dir), DeviceSpec.Cpu));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
        }

        [Theory]
        [InlineData("{}", "name")]
        [InlineData("{\"format\":\"other/2\",\"name\":\"x\",\"labels\":[\"a\"]}", "format")]
        [InlineData("{\"format\":\"cxas-model/1\",\"name\":\"x\",\"labels\":[\"a\",\"a\"]}", "twice")]
        [InlineData("{\"format\":\"cxas-model/1\",\"name\":\"x\",\"labels\":[\"a/b\"]}", "file name")]
        [InlineData("{\"format\":\"cxas-model/1\",\"name\":\"x\",\"labels\":[\"a\"],\"threshold\":1.5}", "threshold")]
        [InlineData("{ not json", "not valid JSON")]
        public void BadManifestsAreRejected(string json, string why)
        {
            var path = Path.Combine(Dir, "model.json");
            File.WriteAllText(path, json);
            var ex = Assert.Throws<CxasException>(() => ModelManifest.Load(path));
            Assert.Contains(why, ex.Message);
        }

        [Fact]
        public void SessionsAreSharedPerModelAndDevice()
        {
            var dir = Model();
            var a = _sessions.Get(CxasModel.Load(dir), DeviceSpec.Cpu);
            var b = _sessions.Get(CxasModel.Load(dir), DeviceSpec.Cpu);
            Assert.Same(a, b);
        }

        /// <summary>
        /// The owner of sessions owns them: disposing it disposes every session it made (a session handed out before
        /// refuses to run, clearly), it hands out no more, and a new owner loads the model afresh and runs it.
        /// </summary>
        [Fact]
        public void DisposingTheOwnerDisposesItsSessions()
        {
            var model = CxasModel.Load(Model());
            var input = new float[3 * 16 * 16];
            var owner = new ModelSessions();
            var session = owner.Get(model, DeviceSpec.Cpu);
            var segmenter = new Segmenter(model, DeviceSpec.Cpu, owner);
            session.Run(input, logits => { });
            Assert.Equal(1, owner.Count);

            owner.Dispose();
            Assert.Equal(0, owner.Count);
            Assert.Throws<ObjectDisposedException>(() => session.Run(input, logits => { }));
            Assert.Throws<ObjectDisposedException>(() => owner.Get(model, DeviceSpec.Cpu));
            var image = new Cxas.Imaging.SourceImage(new Cxas.Imaging.GrayRaster(16, 16, new float[256]), new Cxas.Imaging.SourceInfo("flat", ""));
            Assert.Throws<ObjectDisposedException>(() => segmenter.Segment(image, TimeSpan.Zero));

            using var fresh = new ModelSessions();
            var again = fresh.Get(model, DeviceSpec.Cpu);
            Assert.NotSame(session, again);
            float[]? logits = null;
            again.Run(input, l => logits = l.ToArray());
            Assert.Equal(4 * 16 * 16, logits!.Length);
        }

        [Theory]
        [InlineData("auto", DeviceKind.Auto, 0)]
        [InlineData("CPU", DeviceKind.Cpu, 0)]
        [InlineData("cuda", DeviceKind.Cuda, 0)]
        [InlineData("Cuda:2", DeviceKind.Cuda, 2)]
        [InlineData("0", DeviceKind.Cuda, 0)]
        [InlineData("1", DeviceKind.Cuda, 1)]
        public void DeviceFormsParse(string text, DeviceKind kind, int index)
        {
            var d = DeviceSpec.Parse(text);
            Assert.Equal(kind, d.Kind);
            Assert.Equal(index, d.Index);
        }

        [Fact]
        public void BadDeviceIsAClearError()
        {
            Assert.Equal(CxasErrorKind.InvalidArgument, Assert.Throws<CxasException>(() => DeviceSpec.Parse("tpu")).Kind);
        }

        // Both outcomes of the CUDA set-up, on every machine: the set-up is injected (one that says why CUDA cannot be used,
        // one that accepts the device without touching the options, so the session itself runs on the CPU).
        private static readonly ModelSession.CudaSetup Refusing = (options, index) => $"no GPU {index} in this test";
        private static readonly ModelSession.CudaSetup Accepting = (options, index) => null;

        [Fact]
        public void AnExplicitCudaRequestThatCannotBeMetIsADeviceErrorSayingWhy()
        {
            var ex = Assert.Throws<CxasException>(() => ModelSession.Create(CxasModel.Load(Model()), new DeviceSpec(DeviceKind.Cuda, 1), Refusing));
            Assert.Equal(CxasErrorKind.Device, ex.Kind);
            Assert.Equal("no GPU 1 in this test", ex.Message);
            using var session = ModelSession.Create(CxasModel.Load(Model()), new DeviceSpec(DeviceKind.Cuda, 1), Accepting);
            Assert.Equal(new DeviceSpec(DeviceKind.Cuda, 1), session.Device);
            Assert.Null(session.FallbackReason);
        }

        [Fact]
        public void AutoUsesCudaWhenItCanAndFallsBackToCpuSayingWhyWhenItCannot()
        {
            using var onGpu = ModelSession.Create(CxasModel.Load(Model()), DeviceSpec.Auto, Accepting);
            Assert.Equal(new DeviceSpec(DeviceKind.Cuda, 0), onGpu.Device);
            using var onCpu = ModelSession.Create(CxasModel.Load(Model()), DeviceSpec.Auto, Refusing);
            Assert.Equal(DeviceKind.Cpu, onCpu.Device.Kind);
            Assert.Equal("no GPU 0 in this test", onCpu.FallbackReason);
        }

        [Fact]
        public void TheRealSetUpMatchesTheMachine()
        {
            // Independent of ONNX Runtime: the driver's device nodes (Linux) or library (Windows) say whether a GPU is here.
            var session = _sessions.Get(CxasModel.Load(Model()), DeviceSpec.Auto);
            if (CudaDevices.Count() == 0)
            {
                Assert.Equal(DeviceKind.Cpu, session.Device.Kind);
                Assert.False(string.IsNullOrEmpty(session.FallbackReason));
                var ex = Assert.Throws<CxasException>(() => _sessions.Get(CxasModel.Load(Model()), new DeviceSpec(DeviceKind.Cuda, 0)));
                Assert.Equal(CxasErrorKind.Device, ex.Kind);
                Assert.Contains("CUDA", ex.Message);
            }
            else Assert.Equal(DeviceKind.Cuda, session.Device.Kind);
        }
    }
}
