using Cxas.Models;
using Cxas.Precision;

namespace Cxas.Core.Tests.Precision
{
    /// <summary>
    /// The instruction class from CPUID bits as the Intel SDM numbers them (leaf 7 EBX: AVX2 5, AVX-512 F 16, DQ 17, BW 30,
    /// VL 31; ECX 11 AVX-512 VNNI; leaf 7.1 EAX 4 AVX-VNNI), this machine's class against the kernel's /proc/cpuinfo flags,
    /// and the warning for an 8-bit-weight int8 model on a CPU without VNNI.
    /// </summary>
    public class CpuClassTests
    {
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
    }
}
