using System.Diagnostics;
using System.Runtime.InteropServices;
using Cxas.Models;

namespace Cxas.Core.Tests.Models
{
    /// <summary>A fact that needs Linux (it reads an ELF library the Linux build ships).</summary>
    public sealed class LinuxFactAttribute : FactAttribute
    {
        public LinuxFactAttribute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Skip = "Reads the Linux build of ONNX Runtime's CUDA provider.";
        }
    }

    /// <summary>
    /// What Cxas tells an admin a GPU needs must match the CUDA provider it ships: the CUDA runtime and cuBLAS the
    /// provider library is linked against, read from its ELF dynamic section (DT_NEEDED entries).
    /// </summary>
    public class NativeRuntimeTests
    {
        private static string CudaProvider => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime_providers_cuda.so");

        [LinuxFact]
        public void TheStatedCudaVersionIsTheOneTheShippedProviderLinks()
        {
            Assert.True(File.Exists(CudaProvider), $"{CudaProvider} is missing: the test build restores the GPU package of ONNX Runtime.");
            var needed = NeededLibraries(CudaProvider);
            Assert.Contains($"libcudart.so.{NativeRuntime.CudaMajor}", needed);
            Assert.Contains($"libcublas.so.{NativeRuntime.CudaMajor}", needed);
            Assert.Contains($"CUDA {NativeRuntime.CudaMajor} ", NativeRuntime.CudaRequirement);

            // binutils' reading of the same section, where it is installed.
            if (TestSupport.Tool("readelf") is string readelf)
            {
                var info = new ProcessStartInfo(readelf, $"-d \"{CudaProvider}\"") { RedirectStandardOutput = true, UseShellExecute = false };
                using var p = Process.Start(info)!;
                var listing = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                var fromReadelf = listing.Split('\n').Where(l => l.Contains("(NEEDED)"))
                    .Select(l => l.Substring(l.IndexOf('[') + 1, l.IndexOf(']') - l.IndexOf('[') - 1)).ToList();
                Assert.Equal(fromReadelf, needed);
            }
        }

        /// <summary>
        /// DT_NEEDED names of a little-endian ELF64 shared library, in order: the section headers give the SHT_DYNAMIC
        /// section, whose sh_link names its string table; each (d_tag, d_val) entry with tag 1 is a string offset.
        /// </summary>
        private static List<string> NeededLibraries(string path)
        {
            using var file = File.OpenRead(path);
            using var reader = new BinaryReader(file);
            var ident = reader.ReadBytes(16);
            Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1 }, ident.Take(6)); // ELF64, little-endian
            file.Position = 0x28;
            long sectionHeaders = reader.ReadInt64();
            file.Position = 0x3A;
            int entrySize = reader.ReadUInt16(), count = reader.ReadUInt16();

            (int Type, long Offset, long Size, int Link) Section(int index)
            {
                file.Position = sectionHeaders + (long)index * entrySize;
                reader.ReadUInt32();                 // sh_name
                int type = reader.ReadInt32();
                file.Position += 16;                 // sh_flags, sh_addr
                long offset = reader.ReadInt64(), size = reader.ReadInt64();
                int link = reader.ReadInt32();
                return (type, offset, size, link);
            }

            var names = new List<string>();
            for (int i = 0; i < count; i++)
            {
                var dynamic = Section(i);
                if (dynamic.Type != 6) continue; // SHT_DYNAMIC
                var strings = Section(dynamic.Link);
                var offsets = new List<long>();
                for (long at = 0; at + 16 <= dynamic.Size; at += 16)
                {
                    file.Position = dynamic.Offset + at;
                    long tag = reader.ReadInt64(), value = reader.ReadInt64();
                    if (tag == 0) break;        // DT_NULL
                    if (tag == 1) offsets.Add(value); // DT_NEEDED
                }
                foreach (var o in offsets)
                {
                    file.Position = strings.Offset + o;
                    var bytes = new List<byte>();
                    for (int b; (b = file.ReadByte()) > 0;) bytes.Add((byte)b);
                    names.Add(System.Text.Encoding.ASCII.GetString(bytes.ToArray()));
                }
            }
            return names;
        }
    }
}
