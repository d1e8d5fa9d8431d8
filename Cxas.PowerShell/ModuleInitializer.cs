using System;
using System.IO;
using System.Management.Automation;
using System.Runtime.InteropServices;

namespace Cxas.PowerShell
{
    /// <summary>
    /// Runs when the module is imported. On Windows PowerShell 5.1 (.NET Framework) it binds the module's dependency
    /// assemblies whatever version is asked for. Windows PowerShell does not look for native libraries
    /// beside a module's assemblies, so ONNX Runtime's native library is loaded from the module folder up front;
    /// later P/Invoke calls by name then bind to the already loaded library. .NET (PowerShell 7) finds it on its own.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        [DllImport("kernel32", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern IntPtr LoadLibraryW(string path);

        public void OnImport()
        {
            var dir = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location);
            if (dir == null) return;
            if (RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal))
            {
                // No binding redirects exist for a module: let any version request for an assembly we ship
                // (System.Memory, System.Text.Json...) bind to the copy in the module folder.
                AppDomain.CurrentDomain.AssemblyResolve += (_, args) =>
                {
                    var name = new System.Reflection.AssemblyName(args.Name).Name;
                    var candidate = Path.Combine(dir, name + ".dll");
                    return File.Exists(candidate) ? System.Reflection.Assembly.LoadFrom(candidate) : null;
                };
            }
            if (Environment.OSVersion.Platform != PlatformID.Win32NT) return;
            foreach (var name in new[] { "onnxruntime_providers_shared.dll", "onnxruntime.dll" })
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path)) LoadLibraryW(path);
            }
        }
    }
}
