using Cxas.Import;
using Cxas.Onnx;
using Cxas.Precision;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace Cxas.Core.Tests.Precision
{
    /// <summary>
    /// Int8 and fp16 conversion: the ONNX reader against ONNX Runtime's outputs of the file as written, the QDQ rewrite
    /// of a tiny convolution against hand-computed scales and integers, int8 and fp16 outputs against the float model's,
    /// ONNX Runtime's fusion into integer kernels, and the refusal of a variant that misses its agreement bound.
    /// </summary>
    [Collection(PrecisionCollection.Name)]
    public class PrecisionTests
    {
        private readonly ITestOutputHelper _output;
        public PrecisionTests(ITestOutputHelper output) => _output = output;

        private static string RepoRoot => TestSupport.RepoRoot;
        private static string DefaultModel => Path.Combine(RepoRoot, "models", "cxas-anatomy-r18");
        private static string[] Samples => Directory.GetFiles(Path.Combine(RepoRoot, "samples"), "*.png").OrderBy(p => p).ToArray();

        private static float[] Run(byte[] model, float[] input, long[] shape) => TestSupport.RunOnnx(model, input, shape);

        private static float[] RandomInput(int count, int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        }

        [Fact]
        public void ReadAndWrittenBackModelGivesTheSameLogits()
        {
            var path = Path.Combine(DefaultModel, "model.onnx");
            var model = OnnxModel.Load(path);
            Assert.Equal(17, model.Opset);
            Assert.Equal(new[] { "input" }, model.Inputs.Select(i => i.Name));
            Assert.Equal(OnnxType.Float, model.Inputs[0].ElementType);
            Assert.Contains(model.Nodes, n => n.OpType == "Conv");
            var input = RandomInput(3 * 320 * 320, 1);
            var shape = new long[] { 1, 3, 320, 320 };
            var expected = Run(File.ReadAllBytes(path), input, shape);
            var actual = Run(model.ToBytes(), input, shape);
            Assert.Equal(expected, actual); // bit for bit: same graph, same weights
        }

        /// <summary>input [1,2,4,4] -> Conv 3x3 (3 channels, bias) -> Relu -> head Conv 1x1 (2 channels) -> logits.</summary>
        private static OnnxModelBuilder TinyNetwork(float[] weights, float[] bias)
        {
            var g = new OnnxModelBuilder();
            g.AddInput("input", 1, 2, 4, 4);
            g.AddOutput("logits", 1, 2, 4, 4);
            g.AddInitializer("w", weights, 3, 2, 3, 3);
            g.AddInitializer("b", bias, 3);
            g.AddInitializer("head_w", new float[] { 0.5f, -0.25f, 1f, -1f, 0.75f, 0.1f }, 2, 3, 1, 1);
            g.AddInitializer("head_b", new float[] { 0.05f, -0.05f }, 2);
            var conv = g.AddNode("Conv", new[] { "input", "w", "b" }, OnnxAttribute.Of("pads", 1L, 1L, 1L, 1L));
            var relu = g.AddNode("Relu", new[] { conv });
            g.AddNode("Conv", new[] { relu, "head_w", "head_b" }, new[] { "logits" });
            return g;
        }

        private static float[] TinyWeights()
        {
            // Channel maxima |w|: 1.27, 0.254, 2.54 -> per-channel scales 0.01, 0.002, 0.02.
            var w = new float[3 * 18];
            for (int i = 0; i < 18; i++)
            {
                w[i] = 0.05f * (i % 5) - 0.1f;
                w[18 + i] = 0.01f * (i % 3);
                w[36 + i] = -0.2f * (i % 4);
            }
            w[7] = 1.27f; w[18 + 4] = -0.254f; w[36 + 9] = 2.54f;
            w[3] = 0.5f;       // channel 0: 0.5 / 0.01 = 50
            w[18 + 5] = 0.0031f; // channel 1: 0.0031 / 0.002 = 1.55 -> 2
            return w;
        }

        [Fact]
        public void TinyConvolutionGetsHandCheckedQdqNodesAndScales()
        {
            var model = OnnxModel.Parse(TinyNetwork(TinyWeights(), new float[] { 0.3f, -0.02f, 1f }).ToBytes(), "tiny");
            var plan = Int8Quantizer.Plan(model, new Int8Options { FloatFirstConvolutions = 0 });
            // The input and the Relu output are quantized; the convolution's own output feeds only the Relu (fused);
            // the head convolution and the logits stay float.
            Assert.Equal(new[] { "input", "relu_1" }, plan.Activations);
            var ranges = new Dictionary<string, (float, float)> { ["input"] = (-1.0f, 1.55f), ["relu_1"] = (0f, 5.1f) };
            Int8Quantizer.Apply(model, plan, ranges, scheme: Int8Scheme.U8S8);

            Assert.Equal(2, model.Nodes.Count(n => n.OpType == "QuantizeLinear"));
            Assert.Equal(4, model.Nodes.Count(n => n.OpType == "DequantizeLinear")); // 2 activations, weights, bias
            // Input: range [-1, 1.55] -> scale 2.55/255 = 0.01, zero point round(1/0.01) = 100.
            Assert.Equal(0.01f, Scalar(model, "input_scale"), 6);
            Assert.Equal(100, model.Initializer("input_zero_point")!.Raw[0]);
            // Relu output: [0, 5.1] -> scale 0.02, zero point 0 (so ONNX Runtime can drop the Relu).
            Assert.Equal(0.02f, Scalar(model, "relu_1_scale"), 6);
            Assert.Equal(0, model.Initializer("relu_1_zero_point")!.Raw[0]);

            var wq = model.Initializer("w_int8")!;
            Assert.Equal(OnnxType.Int8, wq.DataType);
            Assert.Equal(new long[] { 3, 2, 3, 3 }, wq.Dims);
            var scales = model.Initializer("w_scale")!.ToFloats();
            Assert.Equal(new[] { 0.01f, 0.002f, 0.02f }, scales.Select(s => (float)Math.Round(s, 7)));
            var q = wq.Raw.Select(b => (sbyte)b).ToArray();
            Assert.Equal(127, q[7]);
            Assert.Equal(50, q[3]);
            Assert.Equal(-127, q[18 + 4]);
            Assert.Equal(2, q[18 + 5]);
            Assert.Equal(127, q[36 + 9]);
            Assert.Equal(-10, q[36 + 1]); // -0.2 / 0.02
            Assert.Equal(-30, q[36 + 3]); // -0.6 / 0.02
            Assert.All(model.Initializer("w_zero_point")!.Raw, b => Assert.Equal(0, b));
            var dqw = model.Nodes.Single(n => n.OpType == "DequantizeLinear" && n.Inputs[0] == "w_int8");
            Assert.Equal(0, dqw.IntAttribute("axis"));

            // Bias: int32 with scale s_input * s_w[c]: 0.3 / (0.01 * 0.01) = 3000, -0.02 / (0.01 * 0.002) = -1000, 1 / (0.01 * 0.02) = 5000.
            var bq = model.Initializer("b_int32")!;
            Assert.Equal(OnnxType.Int32, bq.DataType);
            var bias = new int[3];
            Buffer.BlockCopy(bq.Raw, 0, bias, 0, 12);
            Assert.Equal(new[] { 3000, -1000, 5000 }, bias);

            // The head convolution keeps its float weights; the float originals of the quantized ones are gone.
            Assert.Equal(OnnxType.Float, model.Initializer("head_w")!.DataType);
            Assert.Null(model.Initializer("w"));
            Assert.Null(model.Initializer("b"));
            var head = model.Nodes.Last(n => n.OpType == "Conv");
            Assert.Equal("relu_1_dequantized", head.Inputs[0]);
            Assert.Equal("logits", head.Outputs[0]);
        }

        [Fact]
        public void DefaultSchemeKeepsWeightsWithinSevenBitsAndUnsignedWeightsAreShifted()
        {
            // U8S7 (default): channel 0's max |w| 1.27 -> scale 1.27/64; 0.5 -> round(25.197) = 25; channel 2's 2.54 -> 64,
            // -0.6 -> round(-15.118) = -15. Two such weights times uint8 255: 255 * 64 * 2 = 32640 <= 32767.
            var model = OnnxModel.Parse(TinyNetwork(TinyWeights(), new float[] { 0.3f, -0.02f, 1f }).ToBytes(), "tiny");
            var ranges = new Dictionary<string, (float, float)> { ["input"] = (-1.0f, 1.55f), ["relu_1"] = (0f, 5.1f) };
            Int8Quantizer.Apply(model, Int8Quantizer.Plan(model, new Int8Options { FloatFirstConvolutions = 0 }), ranges);
            var q = model.Initializer("w_int8")!.Raw.Select(b => (sbyte)b).ToArray();
            Assert.Equal(new[] { 1.27f / 64, 0.254f / 64, 2.54f / 64 }, model.Initializer("w_scale")!.ToFloats());
            Assert.Equal(64, q[7]);
            Assert.Equal(25, q[3]);
            Assert.Equal(-64, q[18 + 4]);
            Assert.Equal(64, q[36 + 9]);
            Assert.Equal(-15, q[36 + 3]);
            Assert.All(q, v => Assert.InRange(v, -64, 64));

            // U8U8: the 8-bit integers of U8S8 plus 128, zero point 128 per channel, as uint8.
            model = OnnxModel.Parse(TinyNetwork(TinyWeights(), new float[] { 0.3f, -0.02f, 1f }).ToBytes(), "tiny");
            Int8Quantizer.Apply(model, Int8Quantizer.Plan(model, new Int8Options { FloatFirstConvolutions = 0 }), ranges, scheme: Int8Scheme.U8U8);
            var u = model.Initializer("w_uint8")!;
            Assert.Equal(OnnxType.UInt8, u.DataType);
            Assert.Equal(127 + 128, u.Raw[7]);
            Assert.Equal(50 + 128, u.Raw[3]);
            Assert.Equal(-127 + 128, u.Raw[18 + 4]);
            Assert.Equal(-30 + 128, u.Raw[36 + 3]);
            Assert.Equal(OnnxType.UInt8, model.Initializer("w_zero_point")!.DataType);
            Assert.All(model.Initializer("w_zero_point")!.Raw, b => Assert.Equal(128, b));
        }

        [Fact]
        public void ByDefaultTheFirstConvolutionAndItsReluStayFloat()
        {
            // input -> Conv -> Relu -> Conv -> Relu -> head Conv: the image and the first block stay float; the first
            // quantized tensor is the first Relu's output (never its input, which would spend half the range on values
            // the Relu discards); the second block is quantized and fused as before.
            var g = new OnnxModelBuilder();
            g.AddInput("input", 1, 2, 4, 4);
            g.AddOutput("logits", 1, 2, 4, 4);
            g.AddInitializer("w", TinyWeights(), 3, 2, 3, 3);
            g.AddInitializer("w2", Enumerable.Range(0, 81).Select(i => 0.01f * (i % 7) - 0.03f).ToArray(), 3, 3, 3, 3);
            g.AddInitializer("head_w", new float[] { 0.5f, -0.25f, 1f, -1f, 0.75f, 0.1f }, 2, 3, 1, 1);
            var conv1 = g.AddNode("Conv", new[] { "input", "w" }, OnnxAttribute.Of("pads", 1L, 1L, 1L, 1L));
            var relu1 = g.AddNode("Relu", new[] { conv1 });
            var conv2 = g.AddNode("Conv", new[] { relu1, "w2" }, OnnxAttribute.Of("pads", 1L, 1L, 1L, 1L));
            var relu2 = g.AddNode("Relu", new[] { conv2 });
            g.AddNode("Conv", new[] { relu2, "head_w" }, new[] { "logits" });
            var model = OnnxModel.Parse(g.ToBytes(), "two blocks");

            var plan = Int8Quantizer.Plan(model);
            Assert.Equal(new[] { relu1, relu2 }, plan.Activations);
            Assert.Equal(new[] { conv2 }, plan.WeightConvs.Select(n => n.Outputs[0]));
            var all = Int8Quantizer.Plan(model, new Int8Options { FloatFirstConvolutions = 0 });
            Assert.Equal(new[] { "input", relu1, relu2 }, all.Activations);
            Assert.Equal(new[] { conv1, conv2 }, all.WeightConvs.Select(n => n.Outputs[0]));
        }

        [Fact]
        public void BiasCorrectionRemovesTheMeanShiftOfRoundedWeights()
        {
            // One output channel, two input channels, two taps: w = [0.104, -0.2, 0.3, 0.05], scale 0.1 -> q = [1, -2, 3, 0].
            // Rounding errors q*s - w: [-0.004, 0, 0, -0.05]; input means [2, 10]:
            // shift = (-0.004 + 0) * 2 + (0 - 0.05) * 10 = -0.508, so the bias 1 becomes 1.508.
            var bias = new[] { 1f };
            Int8Quantizer.CorrectBias(bias, new[] { 0.104f, -0.2f, 0.3f, 0.05f }, new sbyte[] { 1, -2, 3, 0 }, new[] { 0.1f }, new[] { 2f, 10f });
            Assert.Equal(1.508f, bias[0], 5);
        }

        private static float Scalar(OnnxModel model, string name) => model.Initializer(name)!.ToFloats().Single();

        [Theory]
        [InlineData(Int8Scheme.U8S7)]
        [InlineData(Int8Scheme.U8S8)]
        [InlineData(Int8Scheme.U8U8)]
        public void TinyInt8ModelComputesTheDequantizedArithmetic(Int8Scheme scheme)
        {
            // Truth by hand: with input and weights already on their grids, the int8 model's logits equal the float
            // model run on the dequantized weights and biases, with the Relu output rounded to its grid.
            var weights = TinyWeights();
            var floatModel = TinyNetwork(weights, new float[] { 0.3f, -0.02f, 1f }).ToBytes();
            var model = OnnxModel.Parse(floatModel, "tiny");
            var plan = Int8Quantizer.Plan(model, new Int8Options { FloatFirstConvolutions = 0 });
            Int8Quantizer.Apply(model, plan, new Dictionary<string, (float, float)> { ["input"] = (-1.0f, 1.55f), ["relu_1"] = (0f, 5.1f) }, scheme: scheme);
            var input = Enumerable.Range(0, 32).Select(i => 0.01f * ((i * 37) % 155 - 100)).ToArray(); // multiples of the 0.01 input step
            var int8 = Run(model.ToBytes(), input, new long[] { 1, 2, 4, 4 });

            var (wq, ws) = Int8Quantizer.QuantizeWeights(weights, 3, scheme == Int8Scheme.U8S7 ? 64 : 127);
            var expected = new float[2 * 16];
            var headW = new[] { 0.5f, -0.25f, 1f, -1f, 0.75f, 0.1f };
            var hidden = new double[3, 16];
            for (int o = 0; o < 3; o++)
            {
                double sb = 0.01 * ws[o];
                double b = Math.Round(new[] { 0.3, -0.02, 1.0 }[o] / sb) * sb;
                for (int y = 0; y < 4; y++)
                    for (int x = 0; x < 4; x++)
                    {
                        double acc = b;
                        for (int i = 0; i < 2; i++)
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++)
                                {
                                    int yy = y + ky - 1, xx = x + kx - 1;
                                    if (yy < 0 || yy >= 4 || xx < 0 || xx >= 4) continue;
                                    acc += input[i * 16 + yy * 4 + xx] * wq[((o * 2 + i) * 3 + ky) * 3 + kx] * (double)ws[o];
                                }
                        hidden[o, y * 4 + x] = Math.Min(255, Math.Round(Math.Max(0, acc) / 0.02)) * 0.02;
                    }
            }
            for (int k = 0; k < 2; k++)
                for (int p = 0; p < 16; p++)
                {
                    double acc = new[] { 0.05, -0.05 }[k];
                    for (int o = 0; o < 3; o++) acc += headW[k * 3 + o] * hidden[o, p];
                    expected[k * 16 + p] = (float)acc;
                }
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], int8[i], 4);
        }

        [Fact]
        public void ReducedReferenceNetworkInt8AgreesWithFloat()
        {
            using var checkpoint = TorchCheckpoint.Open(TestSupport.ReducedCheckpoint);
            var graph = UNetResNetOnnxBuilder.Build(checkpoint, UNetResNetSpec.Infer(checkpoint));
            var floatBytes = graph.ToBytes();
            var inputs = new[] { 0, 1 }.Select(i => NpyArray.Load(Path.Combine(TestSupport.ImportFixtures, $"input_{i}.npy"))).ToArray();
            var model = OnnxModel.Parse(floatBytes, "reduced");
            var plan = Int8Quantizer.Plan(model);
            using (var calibrator = new ActivationCalibrator(model, plan.Calibrated))
            {
                foreach (var x in inputs) calibrator.Add(x.Data, (int)x.Shape[2], (int)x.Shape[3]);
                Assert.Equal(plan.Calibrated.Count(), calibrator.Ranges.Count);
                Int8Quantizer.Apply(model, plan, calibrator.Ranges, calibrator.ChannelMeans); // the converter's defaults: U8S7, bias correction
            }
            Assert.True(model.Nodes.Count(n => n.OpType == "QuantizeLinear") > 20);
            var int8Bytes = model.ToBytes();
            _output.WriteLine($"CPU: {Cxas.Models.CpuClass.Description}");
            foreach (var x in inputs)
            {
                var reference = Run(floatBytes, x.Data, x.Shape);
                var actual = Run(int8Bytes, x.Data, x.Shape);
                var parity = TestSupport.Compare(actual, reference);
                _output.WriteLine($"{x.Shape[2]}x{x.Shape[3]}: max |diff| {parity.MaxAbsDiff:F4} of range {parity.Range:F3} ({parity.RelativeDiff:P2}), masks agree {parity.MaskAgreement:P3}");
                // A narrow random network (a sixteenth of the reference's widths, ~30 layers) quantizes worse than a trained
                // one; measured (U8S7, bias correction) 4.8 % / 6.7 % of the logit range and 97.6 % mask agreement on AVX-512
                // VNNI, 4.7 % / 6.6 % and 97.6 % on AVX2 (QEMU -cpu Haswell, bench/avx2_emulated.sh, and the same figures
                // under tests/cpu_classes.sh's masked CPUID). The former 8-bit weights gave 4.7 % / 5.0 % on VNNI but 15.4 %
                // and 96.3 % on AVX2 (15.8 % and 96.5 % masked; 16.1 % on AVX-512 without VNNI), where the kernels saturate
                // 16-bit pair sums.
                // A wrong scale, axis or zero point gives errors of the order of the range itself.
                Assert.True(parity.RelativeDiff < 0.10, $"int8 logits differ by {parity.RelativeDiff:P2} of their range");
                Assert.True(parity.MaskAgreement > 0.95, $"int8 masks agree on {parity.MaskAgreement:P3}");
            }
        }

        [Fact]
        public void DefaultModelInt8FusesIntoIntegerKernelsAndAgrees()
        {
            var dir = TestSupport.NewTempDir();
            try
            {
                var target = Path.Combine(dir, "r18-int8");
                var result = PrecisionConverter.Convert(DefaultModel, target, ModelPrecision.Int8, new PrecisionOptions { CalibrationImages = Samples });
                _output.WriteLine(result.Agreement.Summary());
                Assert.True(result.Agreement.Passed);
                Assert.Equal(2, result.Agreement.Images);
                var manifest = ModelManifest.Load(Path.Combine(target, "model.json"));
                Assert.Equal("int8", manifest.Precision);
                Assert.Contains("precision.agreement", manifest.Provenance!.Keys);
                Assert.Equal(2, result.FloatConvolutions);
                Assert.Contains("2 convolutions float", manifest.Provenance["precision.int8"]);
                // The scheme and the CPU it was checked on are recorded; every int8 weight is within +-64, so two of them
                // times a uint8 255 stay within a 16-bit sum (the kernels without VNNI add pairs with saturation).
                Assert.Equal("U8S7", manifest.Provenance["precision.scheme"]);
                Assert.Equal(Cxas.Models.CpuClass.Description, manifest.Provenance["precision.checkedOn"]);
                var weights = OnnxModel.Load(Path.Combine(target, "model.onnx")).Initializers.Where(t => t.DataType == OnnxType.Int8 && t.Dims.Length == 4).ToList();
                Assert.True(weights.Count >= 27, "int8 weight tensors: " + weights.Count);
                int largest = weights.Max(t => t.Raw.Max(b => Math.Abs((int)(sbyte)b)));
                Assert.True(255 * largest * 2 <= short.MaxValue, $"largest int8 weight {largest}: 255 x {largest} x 2 overflows 16 bits");
                Assert.Equal(64, largest);

                // What ONNX Runtime makes of it: integer convolutions, not float ones behind dequantization.
                var optimized = Path.Combine(dir, "optimized.onnx");
                using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = optimized })
                using (new InferenceSession(Path.Combine(target, "model.onnx"), options)) { }
                var ops = OnnxModel.Load(optimized).Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
                _output.WriteLine(string.Join(", ", ops.Select(o => $"{o.Key} {o.Value}")));
                Assert.True(ops.TryGetValue("QLinearConv", out var qconv) && qconv >= 27, "QLinearConv nodes: " + qconv);
                Assert.Equal(2, ops.TryGetValue("Conv", out var fconv) ? fconv : 0); // the first convolution and the head
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void VariantMissingItsBoundIsRefusedWithTheFiguresAndNothingIsLeft()
        {
            var dir = TestSupport.NewTempDir();
            try
            {
                var target = Path.Combine(dir, "r18-int8");
                var ex = Assert.Throws<PrecisionRefusedException>(() => PrecisionConverter.Convert(DefaultModel, target, ModelPrecision.Int8,
                    new PrecisionOptions { CalibrationImages = Samples, MinPixelAgreement = 0.999999 }));
                Assert.Equal("Cxas.InvalidModel", ex.ErrorId);
                Assert.Contains("pixel agreement", ex.Message);
                Assert.Contains("heart", ex.Message);
                Assert.Equal(9, ex.Report.Classes.Count);
                Assert.Contains(ex.Report.Classes, c => c.PixelAgreement < 0.999999);
                Assert.False(Directory.Exists(target));
                Assert.Empty(Directory.GetFileSystemEntries(dir));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void ImportWithInt8WritesAQuantizedModelOrRefusesIt()
        {
            var dir = TestSupport.NewTempDir();
            try
            {
                ImportOptions Options(double bound) => new ImportOptions
                {
                    Name = "reduced-int8", InputWidth = 128, InputHeight = 128, Precision = ModelPrecision.Int8,
                    PrecisionOptions = new PrecisionOptions { CalibrationImages = Samples, MinPixelAgreement = bound },
                };
                var refusedTarget = Path.Combine(dir, "refused");
                var ex = Assert.Throws<PrecisionRefusedException>(() => ModelImporter.Import(TestSupport.ReducedCheckpoint, refusedTarget, false, Options(1.01)));
                Assert.Equal(5, ex.Report.Classes.Count);
                Assert.False(Directory.Exists(refusedTarget));

                var target = Path.Combine(dir, "reduced-int8");
                var result = ModelImporter.Import(TestSupport.ReducedCheckpoint, target, false, Options(0));
                Assert.Equal(ModelPrecision.Int8, result.Precision!.Precision);
                Assert.Equal(new[] { "model.json", "model.onnx" }, Directory.GetFiles(target).Select(Path.GetFileName).OrderBy(n => n));
                var model = CxasModel.Load(target);
                Assert.Equal("int8", model.Manifest.Precision);
                Assert.Contains(OnnxModel.Load(model.OnnxPath).Nodes, n => n.OpType == "QuantizeLinear");
                var segmented = new Cxas.Segmentation.Segmenter(model, DeviceSpec.Cpu).Segment(Samples[0]);
                Assert.Equal(5, segmented.Masks.Count);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void Int8NeedsCalibrationImages()
        {
            var ex = Assert.Throws<CxasException>(() => PrecisionConverter.ConvertFile(Path.Combine(DefaultModel, "model.onnx"),
                ModelManifest.Load(Path.Combine(DefaultModel, "model.json")), Path.Combine(Path.GetTempPath(), "never.onnx"), ModelPrecision.Int8, new PrecisionOptions()));
            Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
            Assert.Equal(ModelPrecision.Int8, PrecisionConverter.Parse("INT8"));
            Assert.Equal(CxasErrorKind.InvalidArgument, Assert.Throws<CxasException>(() => PrecisionConverter.Parse("int4")).Kind);
        }

        [Fact]
        public void Float16BitsMatchSystemHalf()
        {
            var random = new Random(7);
            var values = new List<float> { 0f, -0f, 1f, -1f, 65504f, 65520f, 1e6f, -1e6f, 6.1e-5f, 5.96e-8f, 2.98e-8f, 1e-9f, float.NaN, float.PositiveInfinity, 0.1f, 1.0009765625f, 1.00048828125f, 1.00146484375f };
            for (int i = 0; i < 20000; i++) values.Add((float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-30, 20))));
            foreach (var v in values)
            {
                ushort expected = BitConverter.HalfToUInt16Bits((System.Half)v);
                ushort actual = Float16Bits.FromSingle(v);
                if (float.IsNaN(v)) Assert.True((actual & 0x7C00) == 0x7C00 && (actual & 0x3FF) != 0);
                else Assert.True(expected == actual, $"{v:R}: expected 0x{expected:X4}, got 0x{actual:X4}");
                if (!float.IsNaN(v)) Assert.Equal((float)BitConverter.UInt16BitsToHalf(actual), Float16Bits.ToSingle(actual));
            }
        }

        [Fact]
        public void Fp16ModelKeepsFloatIoAndAgreesWithFloat()
        {
            var path = Path.Combine(DefaultModel, "model.onnx");
            var model = OnnxModel.Load(path);
            Fp16Converter.Apply(model);
            Assert.Equal("Cast", model.Nodes[0].OpType);
            Assert.Equal("input", model.Nodes[0].Inputs[0]);
            Assert.Equal("Cast", model.Nodes[^1].OpType);
            Assert.Equal("logits", model.Nodes[^1].Outputs[0]);
            Assert.All(model.Initializers.Where(t => t.Dims.Length == 4), t => Assert.Equal(OnnxType.Float16, t.DataType));
            var input = RandomInput(3 * 320 * 320, 3);
            var shape = new long[] { 1, 3, 320, 320 };
            var parity = TestSupport.Compare(Run(model.ToBytes(), input, shape), Run(File.ReadAllBytes(path), input, shape));
            _output.WriteLine($"fp16 on CPU: max |diff| {parity.MaxAbsDiff:F4} of range {parity.Range:F2}, masks agree {parity.MaskAgreement:P4}");
            Assert.True(parity.RelativeDiff < 0.01);
            Assert.True(parity.MaskAgreement > 0.999);
        }
    }
}
