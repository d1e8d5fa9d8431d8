using System;
using System.IO;
using System.Management.Automation;
using System.Runtime.InteropServices;

namespace Cxas.PowerShell
{
    /// <summary>
    /// Runs when the module is imported. On Windows PowerShell 5.1 (.NET Framework) it binds the module's dependency
    /// assemblies whatever version is asked for. Windows PowerShell does not look for native libraries
    /// beside a module's assemblies; and the CUDA provider lives in a companion module. So the native ONNX Runtime is chosen
    /// and bound up front (see <see cref="Cxas.Models.NativeRuntime"/>).
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
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
            // The native ONNX Runtime: the module's CPU build, or the Cxas.Cuda companion's when it is installed.
            var version = typeof(ModuleInitializer).Assembly.GetName().Version;
            Cxas.Models.NativeRuntime.Configure(dir, version == null ? "0.0.0" : $"{version.Major}.{version.Minor}.{version.Build}");
        }
    }
}
