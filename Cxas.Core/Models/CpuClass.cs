using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Cxas.Models
{
    /// <summary>
    /// The processor's instruction class as ONNX Runtime's integer kernels (MLAS) choose by it, read from the same CPUID
    /// bits MLAS reads: leaf 7 EBX (AVX2 bit 5; AVX-512 F bit 16, DQ 17, BW 30, VL 31), leaf 7 ECX bit 11 (AVX-512 VNNI),
    /// leaf 7 sub-leaf 1 EAX bit 4 (AVX-VNNI). MLAS takes AVX2, then AVX-VNNI, then AVX-512 core over it, then AVX-512
    /// VNNI; the class is the last of these the processor has. Without VNNI the uint8 x int8 kernels (vpmaddubsw) add
    /// two products into a saturating 16-bit sum, which is why int8 models quantize their weights to 7 bits
    /// (<see cref="Int8Scheme"/>).
    /// Cxas.Core is netstandard2.0, so CPUID is reached through .NET's X86Base.CpuId by reflection (present on every .NET
    /// that runs PowerShell 7); where it is missing the class is read from /proc/cpuinfo's flags, else "unknown".
    /// </summary>
    public static class CpuClass
    {
        public const string Avx512Vnni = "AVX-512 VNNI";
        public const string Avx512 = "AVX-512";
        public const string AvxVnni = "AVX-VNNI";
        public const string Avx2 = "AVX2";
        public const string BelowAvx2 = "below AVX2";
        public const string NotX64 = "not x64";
        public const string Unknown = "unknown";

        private static readonly Lazy<(string Class, string Model)> Detected = new Lazy<(string, string)>(Detect);

        /// <summary>This machine's class: one of the constants above.</summary>
        public static string Current => Detected.Value.Class;
        /// <summary>The processor's model name (CPUID brand string, or /proc/cpuinfo's "model name").</summary>
        public static string Model => Detected.Value.Model;
        /// <summary>"AMD EPYC (AVX-512 VNNI)": what benchmarks print beside every figure.</summary>
        public static string Description => $"{Model} ({Current})";

        /// <summary>Whether the class's uint8 x int8 kernels sum four products in 32 bits (no 16-bit saturation).</summary>
        public static bool HasVnni(string cpuClass) => cpuClass == Avx512Vnni || cpuClass == AvxVnni;

        /// <summary>The class from the CPUID bits; <paramref name="osAvx512"/>: the operating system saves AVX-512 state.</summary>
        public static string Classify(uint leaf7Ebx, uint leaf7Ecx, uint leaf71Eax, bool osAvx512 = true)
        {
            bool avx2 = (leaf7Ebx & (1u << 5)) != 0;
            bool avx512Core = osAvx512 && (leaf7Ebx & 0xC0030000u) == 0xC0030000u; // F, DQ, BW, VL
            if (!avx2) return BelowAvx2;
            if (avx512Core) return (leaf7Ecx & (1u << 11)) != 0 ? Avx512Vnni : Avx512;
            return (leaf71Eax & (1u << 4)) != 0 ? AvxVnni : Avx2;
        }

        /// <summary>The class from /proc/cpuinfo's flag names.</summary>
        public static string ClassifyFlags(ICollection<string> flags)
        {
            if (!flags.Contains("avx2")) return BelowAvx2;
            if (new[] { "avx512f", "avx512dq", "avx512bw", "avx512vl" }.All(flags.Contains))
                return flags.Contains("avx512_vnni") ? Avx512Vnni : Avx512;
            return flags.Contains("avx_vnni") ? AvxVnni : Avx2;
        }

        private static (string, string) Detect()
        {
            var arch = RuntimeInformation.ProcessArchitecture;
            if (arch != Architecture.X64 && arch != Architecture.X86) return (NotX64, ProcCpuInfo("model name") ?? arch.ToString());
            try
            {
                var x86Base = Type.GetType("System.Runtime.Intrinsics.X86.X86Base, System.Private.CoreLib");
                var cpuId = x86Base?.GetMethod("CpuId", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(int), typeof(int) }, null);
                if (cpuId != null && (bool)x86Base!.GetProperty("IsSupported")!.GetValue(null)!)
                {
                    int[] Leaf(int leaf, int sub)
                    {
                        var t = cpuId.Invoke(null, new object[] { leaf, sub })!;
                        return new[] { "Item1", "Item2", "Item3", "Item4" }.Select(f => (int)t.GetType().GetField(f)!.GetValue(t)!).ToArray();
                    }
                    var leaf7 = Leaf(7, 0);
                    var leaf71 = Leaf(7, 1);
                    // .NET 8 and later say whether the OS saves AVX-512 state; before, the CPUID bits are taken as they are.
                    var avx512F = Type.GetType("System.Runtime.Intrinsics.X86.Avx512F, System.Private.CoreLib");
                    bool os = avx512F == null || (bool)avx512F.GetProperty("IsSupported")!.GetValue(null)!;
                    var brand = new StringBuilder();
                    if ((uint)Leaf(unchecked((int)0x80000000), 0)[0] >= 0x80000004)
                        for (int leaf = unchecked((int)0x80000002); leaf <= unchecked((int)0x80000004); leaf++)
                            foreach (var r in Leaf(leaf, 0)) brand.Append(Encoding.ASCII.GetString(BitConverter.GetBytes(r)));
                    var model = brand.ToString().Replace("\0", "").Trim();
                    return (Classify((uint)leaf7[1], (uint)leaf7[2], (uint)leaf71[0], os), model.Length > 0 ? model : ProcCpuInfo("model name") ?? Unknown);
                }
            }
            catch (Exception ex) when (ex is TargetInvocationException || ex is MemberAccessException || ex is InvalidCastException) { }
            var flags = ProcCpuInfo("flags");
            return (flags == null ? Unknown : ClassifyFlags(new HashSet<string>(flags.Split(' '))), ProcCpuInfo("model name") ?? Unknown);
        }

        /// <summary>The first value of <paramref name="key"/> in /proc/cpuinfo, or null (not Linux, or no such line).</summary>
        private static string? ProcCpuInfo(string key)
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    int colon = line.IndexOf(':');
                    if (colon > 0 && line.Substring(0, colon).Trim() == key) return line.Substring(colon + 1).Trim();
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return null;
        }
    }
}
