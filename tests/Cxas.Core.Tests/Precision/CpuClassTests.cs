using Cxas.Models;
using Cxas.Onnx;
using Cxas.Precision;
using Xunit.Abstractions;

namespace Cxas.Core.Tests.Precision
{
    /// <summary>
    /// The instruction class from CPUID bits as the Intel SDM numbers them (leaf 7 EBX: AVX2 5, AVX-512 F 16, DQ 17, BW 30,
    /// VL 31; ECX 11 AVX-512 VNNI; leaf 7.1 EAX 4 AVX-VNNI), this machine's class against the kernel's /proc/cpuinfo flags,
    /// the warning for an 8-bit-weight int8 model on a CPU without VNNI, and the 16-bit saturation behind that warning, in
    /// ONNX Runtime's integer kernels on whatever class this process reads (tests/cpu_classes.sh runs it under each).
    /// </summary>
    public class CpuClassTests
    {
        private readonly ITestOutputHelper _output;
        public CpuClassTests(ITestOutputHelper output) => _output = output;

        private const uint Avx2 = 1u << 5;
        private const uint Avx512Core = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);

        [Fact]
        public void ClassFollowsTheCpuidBitsMlasReads()
        {
            Assert.Equal(CpuClass.Avx2, CpuClass.Classify(Avx2, 0, 0));                                  // Haswell, Zen 2/3
            Assert.Equal(CpuClass.AvxVnni, CpuClass.Classify(Avx2, 0, 1u << 4));                         // Alder Lake
            Assert.Equal(CpuClass.Avx512, CpuClass.Classify(Avx2 | Avx512Core, 0, 0));                   // Skylake-SP
            Assert.Equal(CpuClass.Avx512Vnni, CpuClass.Classify(Avx2 | Avx512Core, 1u << 11, 0));        // Cascade Lake, Zen 4
            Assert.Equal(CpuClass.Avx512Vnni, CpuClass.Classify(Avx2 | Avx512Core, 1u << 11, 1u << 4));  // Sapphire Rapids
            Assert.Equal(CpuClass.Avx2, CpuClass.Classify(Avx2 | (1u << 16), 1u << 11, 0));              // AVX-512 F alone: not core
            Assert.Equal(CpuClass.Avx2, CpuClass.Classify(Avx2 | Avx512Core, 1u << 11, 0, osAvx512: false));
            Assert.Equal(CpuClass.BelowAvx2, CpuClass.Classify(0, 1u << 11, 1u << 4));
            Assert.True(CpuClass.HasVnni(CpuClass.AvxVnni) && CpuClass.HasVnni(CpuClass.Avx512Vnni));
            Assert.False(CpuClass.HasVnni(CpuClass.Avx2) || CpuClass.HasVnni(CpuClass.Avx512));
        }

        /// <summary>A fact for x64 Linux, where the kernel lists the CPU's flags in /proc/cpuinfo.</summary>
        public sealed class X64LinuxFactAttribute : FactAttribute
        {
            public X64LinuxFactAttribute()
            {
                if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64 || !File.Exists("/proc/cpuinfo"))
                    Skip = "needs an x64 Linux machine (/proc/cpuinfo)";
            }
        }

        [X64LinuxFact]
        public void ThisMachinesClassMatchesTheKernelsFlags()
        {
            var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal));
            var set = new HashSet<string>(flags.Substring(flags.IndexOf(':') + 1).Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(CpuClass.ClassifyFlags(set), CpuClass.Current);
            var model = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("model name", StringComparison.Ordinal));
            Assert.Equal(model.Substring(model.IndexOf(':') + 1).Trim(), CpuClass.Model);
            Assert.Equal($"{CpuClass.Model} ({CpuClass.Current})", CpuClass.Description);
        }

        private static ModelManifest Int8(string? scheme)
        {
            var m = new ModelManifest { Name = "r18-int8", Precision = "int8", Provenance = new Dictionary<string, string> { ["precision.checkedOn"] = "AMD EPYC (AVX-512 VNNI)" } };
            if (scheme != null) m.Provenance["precision.scheme"] = scheme;
            return m;
        }

        [Fact]
        public void EightBitWeightsWarnOnlyWithoutVnni()
        {
            // A model made before the scheme was recorded has 8-bit weights.
            var old = Int8(null);
            Assert.Equal(Int8Scheme.U8S8, Int8Portability.SchemeOf(old));
            var note = Int8Portability.Note(old, CpuClass.Avx2);
            Assert.NotNull(note);
            Assert.Contains("'r18-int8'", note);
            Assert.Contains("checked on AMD EPYC (AVX-512 VNNI)", note);
            Assert.Contains("This CPU (AVX2) has no VNNI", note);
            Assert.NotNull(Int8Portability.Note(Int8("U8S8"), CpuClass.Avx512));
            Assert.Null(Int8Portability.Note(old, CpuClass.Avx512Vnni));
            Assert.Null(Int8Portability.Note(old, CpuClass.AvxVnni));
            Assert.Null(Int8Portability.Note(Int8("U8S7"), CpuClass.Avx2));
            Assert.Null(Int8Portability.Note(Int8("U8U8"), CpuClass.Avx2));
            Assert.Null(Int8Portability.Note(new ModelManifest { Name = "r18", Precision = "fp32" }, CpuClass.Avx2));
            Assert.Null(Int8Portability.SchemeOf(new ModelManifest { Name = "r18" }));
        }

        /// <summary>input [1,2,1,1] -> Conv 1x1 (weights 1, 1) -> Relu -> head Conv 1x1 (weight 1) -> logits, quantized.</summary>
        private static byte[] PairSumNetwork(Int8Scheme scheme)
        {
            var g = new OnnxModelBuilder();
            g.AddInput("input", 1, 2, 1, 1);
            g.AddOutput("logits", 1, 1, 1, 1);
            g.AddInitializer("w", new[] { 1f, 1f }, 1, 2, 1, 1);
            g.AddInitializer("b", new[] { 0f }, 1);
            g.AddInitializer("head_w", new[] { 1f }, 1, 1, 1, 1);
            var relu = g.AddNode("Relu", new[] { g.AddNode("Conv", new[] { "input", "w", "b" }) });
            g.AddNode("Conv", new[] { relu, "head_w" }, new[] { "logits" });
            var model = OnnxModel.Parse(g.ToBytes(), "pair sum");
            var plan = Int8Quantizer.Plan(model, new Int8Options { FloatFirstConvolutions = 0 });
            var ranges = new Dictionary<string, (float, float)> { ["input"] = (0f, 2.55f), [relu] = (0f, 7.65f) };
            Int8Quantizer.Apply(model, plan, ranges, scheme: scheme);
            return model.ToBytes();
        }

        [Fact]
        public void EightBitWeightsSaturateExactlyWhereThisClassHasNoVnni()
        {
            // Both inputs 2.55, the top of their range: uint8 255 (scale 0.01, zero point 0). The quantized convolution
            // adds 255 x q + 255 x q. U8S8: q = 127 (scale 1/127), 64770 exactly with VNNI (four products summed in 32
            // bits); without it the pair is summed in 16 bits and saturates at 32767, so the logit is
            // 32767 x 0.01 / 127 = 2.580 instead of 5.1 (both on the Relu output's grid, step 0.03: 86 and 170 steps).
            // U8S7: q = 64 (scale 1/64), 255 x 64 x 2 = 32640 fits, 5.1 on every class.
            var input = new[] { 2.55f, 2.55f };
            var shape = new long[] { 1, 2, 1, 1 };
            float u8s8 = TestSupport.RunOnnx(PairSumNetwork(Int8Scheme.U8S8), input, shape)[0];
            float u8s7 = TestSupport.RunOnnx(PairSumNetwork(Int8Scheme.U8S7), input, shape)[0];
            _output.WriteLine($"{CpuClass.Description}: U8S8 pair sum {u8s8:F3}, U8S7 {u8s7:F3} (exact 5.1)");
            Assert.Equal(5.1f, u8s7, 0.01f);
            if (CpuClass.HasVnni(CpuClass.Current))
                Assert.Equal(5.1f, u8s8, 0.01f);
            else
                Assert.Equal(32767 * 0.01f / 127, u8s8, 0.01f);
        }
    }
}
