using System;
using System.IO;
using System.Management.Automation;
using System.Runtime.InteropServices;

namespace Cxas.PowerShell
{
    /// <summary>
    /// Runs when the module is imported. Windows PowerShell 5.1 (.NET Framework) does not look for native libraries
    /// beside a module's assemblies, so ONNX Runtime's native library is loaded from the module folder up front;
    /// later P/Invoke calls by name then bind to the already loaded library. .NET (PowerShell 7) finds it on its own.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        [DllImport("kernel32", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern IntPtr LoadLibraryW(string path);

        public void OnImport()
        {
            if (Environment.OSVersion.Platform != PlatformID.Win32NT) return;
            var dir = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location);
            if (dir == null) return;
            foreach (var name in new[] { "onnxruntime_providers_shared.dll", "onnxruntime.dll" })
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path)) LoadLibraryW(path);
            }
        }
    }
}
