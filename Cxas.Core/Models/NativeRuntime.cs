using System.Reflection;
using System.Runtime.InteropServices;

namespace Cxas.Models
{
    /// <summary>
    /// Which native ONNX Runtime the process uses. The Cxas module is one package for every platform: its CPU runtimes lie
    /// in <c>lib/native/&lt;rid&gt;</c> (linux-x64, win-x64), and the one for the running platform is picked here (a build
    /// output with the runtime directly in its folder is used as it is). The CUDA execution provider (about 280 MB) comes
    /// in a companion module per platform, <c>Cxas.Cuda.Linux</c> or <c>Cxas.Cuda.Windows</c> (a gallery package could not
    /// hold both under its 250 MB limit), which holds the same ONNX Runtime build with its CUDA provider beside it (ONNX
    /// Runtime looks for providers next to itself). At import:
    /// <list type="number">
    /// <item>the companion is looked for: <c>$env:CXAS_CUDA_MODULE</c> (a folder), else <c>&lt;companion&gt;/&lt;version&gt;</c> or
    /// <c>&lt;companion&gt;</c> in each <c>$env:PSModulePath</c> folder, holding the runtime library; the version must be Cxas's own;</item>
    /// <item>the chosen runtime is bound before ONNX Runtime's first call: on Windows by loading it by full path (later loads by
    /// name reuse it), on .NET elsewhere through a DllImport resolver for ONNX Runtime's assembly. Windows PowerShell 5.1
    /// off Windows does not exist, so no third way is needed.</item>
    /// </list>
    /// <para>This is the one piece of state that stays process-wide on purpose (unlike the readers, decoders, writers and
    /// sessions, which belong to a configuration or an owner): a process loads one libonnxruntime, and a DllImport
    /// resolver, once bound, serves every caller of ONNX Runtime's assembly in it.</para>
    /// </summary>
    public static class NativeRuntime
    {
        /// <summary>The CUDA companion of this platform: Cxas.Cuda.Windows or Cxas.Cuda.Linux.</summary>
        public static string CudaModuleName => IsWindows ? "Cxas.Cuda.Windows" : "Cxas.Cuda.Linux";

        /// <summary>The folder of the running platform's CPU runtime inside the module's library folder (its runtime identifier).</summary>
        public static string PlatformFolder =>
            (IsWindows ? "win" : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx" : "linux") + "-" +
            RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();

        /// <summary>
        /// The CUDA major version ONNX Runtime 1.31.0's CUDA provider is linked against (libcudart.so.13 and
        /// libcublas.so.13 on Linux, cudart64_13.dll on Windows; a test reads the Linux library's dynamic section).
        /// </summary>
        public const int CudaMajor = 13;

        /// <summary>What a machine needs for -Device Cuda, as messages say it.</summary>
        public static readonly string CudaRequirement = $"an NVIDIA driver, CUDA {CudaMajor} and cuDNN 9 libraries on the library path";

        /// <summary>The folder the native runtime is loaded from.</summary>
        public static string? Directory { get; private set; }
        /// <summary>"Cxas" (the module's own CPU runtime) or the companion's name (<see cref="CudaModuleName"/>).</summary>
        public static string Source { get; private set; } = "Cxas";
        /// <summary>A note when the companion was found but could not be used.</summary>
        public static string? Note { get; private set; }

        private static bool IsWindows => Path.DirectorySeparatorChar == '\\';
        private static string RuntimeFile => IsWindows ? "onnxruntime.dll" : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libonnxruntime.dylib" : "libonnxruntime.so";
        private static string CudaProviderFile => IsWindows ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";

        /// <summary>Whether the runtime in use has the CUDA provider library beside it (false before <see cref="Configure"/>).</summary>
        public static bool HasCudaProvider => Directory != null && File.Exists(Path.Combine(Directory, CudaProviderFile));

        /// <summary>Chooses and binds the native runtime; call once, before any model is loaded.</summary>
        public static void Configure(string moduleDirectory, string version)
        {
            if (Directory != null) return;
            // One package for every platform: this platform's runtime folder when the module has one.
            var platform = Path.Combine(moduleDirectory, "native", PlatformFolder);
            if (File.Exists(Path.Combine(platform, RuntimeFile))) moduleDirectory = platform;
            Directory = moduleDirectory;
            var companion = FindCompanion(version);
            if (companion != null)
            {
                Directory = companion;
                Source = CudaModuleName;
            }
            try { Bind(Path.Combine(Directory, RuntimeFile)); }
            catch (Exception ex) when (companion != null)
            {
                Note = $"The {CudaModuleName} runtime in '{companion}' could not be used ({ex.Message}); the CPU runtime is used.";
                Directory = moduleDirectory;
                Source = "Cxas";
                Bind(Path.Combine(Directory, RuntimeFile));
            }
        }

        private static string? FindCompanion(string version)
        {
            var explicitDir = Environment.GetEnvironmentVariable("CXAS_CUDA_MODULE");
            var candidates = !string.IsNullOrEmpty(explicitDir)
                ? new[] { explicitDir! }
                : (Environment.GetEnvironmentVariable("PSModulePath") ?? "").Split(Path.PathSeparator)
                    .Where(p => p.Length > 0)
                    .SelectMany(p => new[] { Path.Combine(p, CudaModuleName, version), Path.Combine(p, CudaModuleName) });
            return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, RuntimeFile)) && File.Exists(Path.Combine(d, CudaProviderFile)) &&
                                                  VersionOf(d) == version);
        }

        /// <summary>The ModuleVersion in the folder's companion manifest (a line "ModuleVersion = 'x.y.z'").</summary>
        private static string? VersionOf(string directory)
        {
            var manifest = Path.Combine(directory, CudaModuleName + ".psd1");
            if (!File.Exists(manifest)) return null;
            foreach (var line in File.ReadLines(manifest))
            {
                var t = line.Trim();
                if (!t.StartsWith("ModuleVersion", StringComparison.OrdinalIgnoreCase)) continue;
                var q = t.Split('\'', '"');
                return q.Length >= 2 ? q[1] : null;
            }
            return null;
        }

        /// <summary>
        /// The oldest Visual C++ runtime (msvcp140.dll) ONNX Runtime 1.31's Windows build runs with: it is built with
        /// Visual Studio 2022 17.10 or later, whose std::mutex an older msvcp140.dll (often installed into System32 by
        /// other software) does not match, so ONNX Runtime crashes or fails at its first session.
        /// </summary>
        public static readonly Version MinimumVisualCppRuntime = new Version(14, 40);

        /// <summary>What to install when the Visual C++ runtime is missing or too old.</summary>
        public const string VisualCppRedistributable =
            "the Microsoft Visual C++ 2015-2022 Redistributable (x64), 14.40 or later (https://aka.ms/vs/17/release/vc_redist.x64.exe)";

        /// <summary>
        /// Why the Visual C++ runtime at <paramref name="msvcpPath"/> cannot serve ONNX Runtime: missing, or a version
        /// below <see cref="MinimumVisualCppRuntime"/>. Null when it can, or when the file states no version (Wine's
        /// built-in DLLs), which is then left to the load itself.
        /// </summary>
        public static string? VisualCppRuntimeProblem(string msvcpPath)
        {
            if (!File.Exists(msvcpPath)) return $"the Visual C++ runtime '{msvcpPath}' is missing; install {VisualCppRedistributable}";
            var info = System.Diagnostics.FileVersionInfo.GetVersionInfo(msvcpPath);
            if (info.FileMajorPart == 0 && info.FileMinorPart == 0) return null;
            var version = new Version(info.FileMajorPart, info.FileMinorPart, info.FileBuildPart, info.FilePrivatePart);
            if (version >= MinimumVisualCppRuntime) return null;
            return $"the Visual C++ runtime '{msvcpPath}' is version {version}, older than the {MinimumVisualCppRuntime} ONNX Runtime 1.31 needs; install {VisualCppRedistributable}";
        }

        [DllImport("kernel32", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern IntPtr LoadLibraryW(string path);

        private static void Bind(string runtimePath)
        {
            if (!File.Exists(runtimePath)) throw new FileNotFoundException($"'{runtimePath}' is missing.");
            var dir = Path.GetDirectoryName(runtimePath)!;
            if (IsWindows)
            {
                // Checked before the first load: an old msvcp140.dll makes ONNX Runtime crash rather than fail.
                var problem = VisualCppRuntimeProblem(Path.Combine(Environment.SystemDirectory, "msvcp140.dll"));
                if (problem != null) throw new CxasException(CxasErrorKind.NotSupported, "ONNX Runtime cannot run here: " + problem + ".");
                foreach (var name in new[] { "onnxruntime_providers_shared.dll", "onnxruntime.dll" })
                {
                    var path = Path.Combine(dir, name);
                    if (File.Exists(path) && LoadLibraryW(path) == IntPtr.Zero)
                        throw new CxasException(CxasErrorKind.NotSupported,
                            $"Cannot load '{path}' (Windows error {Marshal.GetLastWin32Error()}); ONNX Runtime needs {VisualCppRedistributable}.");
                }
                return;
            }
            // .NET Core 3+: NativeLibrary.SetDllImportResolver(onnxRuntimeAssembly, resolver), through reflection
            // (netstandard2.0 does not name it).
            var nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
            var resolverType = Type.GetType("System.Runtime.InteropServices.DllImportResolver");
            if (nativeLibrary == null || resolverType == null) return;
            var ort = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly;
            var handle = (IntPtr)nativeLibrary.GetMethod("Load", new[] { typeof(string) })!.Invoke(null, new object[] { runtimePath })!;
            Resolved = handle;
            var resolver = Delegate.CreateDelegate(resolverType, typeof(NativeRuntime).GetMethod(nameof(Resolve), BindingFlags.NonPublic | BindingFlags.Static)!);
            try
            {
                nativeLibrary.GetMethod("SetDllImportResolver")!.Invoke(null, new object[] { ort, resolver });
            }
            catch (TargetInvocationException ex) when (ex.InnerException is InvalidOperationException)
            {
                // A resolver is already set (the module imported twice in one process): the first one stays.
            }
        }

        private static IntPtr Resolved;

        private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
            libraryName == "onnxruntime" || libraryName == "libonnxruntime" ? Resolved : IntPtr.Zero;
    }
}
