using System.IO.Compression;
using System.Text;
using Cxas.Import;

namespace Cxas.Core.Tests.Import
{
    public class CheckpointReaderTests
    {
        [Fact]
        public void ReadsTorchSaveZipWithWrapperAndModulePrefix()
        {
            using var checkpoint = TorchCheckpoint.Open(TestSupport.ReducedCheckpoint);
            Assert.Equal("model", checkpoint.StateDictKey);
            Assert.Equal("37", checkpoint.Metadata["epoch"]);
            Assert.Equal("UNet_ResNet50", checkpoint.Metadata["arch"]);
            Assert.Equal(383, checkpoint.Tensors.Count);
            Assert.All(checkpoint.Tensors, t => Assert.False(t.Name.StartsWith("module.", StringComparison.Ordinal)));
            Assert.Equal("backbone.backbone.layer0.0.weight", checkpoint.Tensors[0].Name);
            Assert.Equal(new long[] { 4, 3, 7, 7 }, checkpoint.Tensors[0].Shape);
            var counter = checkpoint.Find("backbone.backbone.layer0.1.num_batches_tracked")!;
            Assert.Equal(TorchDType.Int64, counter.DType);
            Assert.Empty(counter.Shape);
        }

        [Fact]
        public void InfersTheWidthReducedSpecFromShapes()
        {
            using var checkpoint = TorchCheckpoint.Open(TestSupport.ReducedCheckpoint);
            var spec = UNetResNetSpec.Infer(checkpoint);
            Assert.Equal(UNetResNetSpec.Scaled(16, 5), spec);
            Assert.False(spec.IsReference);
            Assert.Equal(new[] { 4, 16, 32, 64, 128 }, spec.FeatureChannels);
        }

        [Fact]
        public void ReferenceSpecNeedsExactlyTheReferenceCheckpointKeysAndShapes()
        {
            // reference-checkpoint-keys.tsv lists the published checkpoint's 383 tensors (key, shape, dtype).
            var rows = File.ReadAllLines(Path.Combine(TestSupport.ImportFixtures, "reference-checkpoint-keys.tsv"))
                .Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t')).ToList();
            Assert.Equal(383, rows.Count);
            var floats = rows.Where(r => r[2] == "float32").Select(r => (r[0], r[1])).ToList();
            var expected = UNetResNetSpec.Reference().ExpectedTensors().Select(e => (e.Key, string.Join("x", e.Shape))).ToList();
            Assert.Equal(floats, expected);
            Assert.All(rows.Where(r => r[2] != "float32"), r => Assert.EndsWith(".num_batches_tracked", r[0]));
            Assert.InRange(UNetResNetSpec.Reference().ExpectedTensors().Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b)), 73.35e6, 73.45e6);
        }

        [Theory]
        [InlineData("formats_p2.pth", "model")]
        [InlineData("formats_p4.pth", null)]
        public void ReadsPyTorchDtypesViewsAndProtocols(string file, string? wrapper)
        {
            // Written by training/generate_format_fixtures.py: each tensor beside PyTorch's own float32 contiguous copy.
            using var checkpoint = TorchCheckpoint.Open(Path.Combine(TestSupport.ImportFixtures, file));
            Assert.Equal(wrapper, checkpoint.StateDictKey);
            var names = checkpoint.Tensors.Select(t => t.Name).Where(n => !n.EndsWith("__expected", StringComparison.Ordinal)).ToList();
            Assert.Equal(new[] { "half", "bfloat16", "double", "base", "transposed", "offset_slice", "every_other", "conv_like" }, names);
            Assert.Equal(TorchDType.Float16, checkpoint.Find("half")!.DType);
            Assert.Equal(TorchDType.BFloat16, checkpoint.Find("bfloat16")!.DType);
            Assert.Equal(TorchDType.Float64, checkpoint.Find("double")!.DType);
            foreach (var name in names)
            {
                var tensor = checkpoint.Find(name)!;
                var expected = checkpoint.Find(name + "__expected")!;
                Assert.Equal(expected.Shape, tensor.Shape);
                Assert.Equal(checkpoint.ReadFloats(expected), checkpoint.ReadFloats(tensor));
            }
        }

        [Fact]
        public void ConvertsHalfPrecisionValues()
        {
            Assert.Equal(1.0f, TorchCheckpoint.HalfToFloat(0x3c00));
            Assert.Equal(-2.5f, TorchCheckpoint.HalfToFloat(0xc100));
            Assert.Equal(65504f, TorchCheckpoint.HalfToFloat(0x7bff));
            Assert.Equal(5.9604645e-8f, TorchCheckpoint.HalfToFloat(0x0001));
        }

        [Fact]
        public void ReadsValuesInLogicalOrderWithOffsetAndStrides()
        {
            var w = new TestCheckpointWriter { KeyPrefix = "" };
            // A 2x3 view of a 10-value storage at offset 1 with strides (1, 2): a transposed 3x2 block.
            var t = w.Add("t", new long[] { 2, 3 }, Enumerable.Range(0, 10).Select(i => (float)i).ToArray());
            t.Offset = 1;
            t.Strides = new long[] { 1, 2 };
            var dir = TestSupport.NewTempDir();
            try
            {
                var path = Path.Combine(dir, "strided.pth");
                File.WriteAllBytes(path, w.ToBytes());
                using var checkpoint = TorchCheckpoint.Open(path);
                Assert.Equal(new float[] { 1, 3, 5, 2, 4, 6 }, checkpoint.ReadFloats("t", 2, 3));
                var ex = Assert.Throws<CxasException>(() => checkpoint.ReadFloats("t", 3, 2));
                Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
                Assert.Contains("'t'", ex.Message);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
