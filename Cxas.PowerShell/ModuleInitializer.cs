using System.Management.Automation.Runspaces;
using System.Reflection;

namespace Cxas.PowerShell;

/// <summary>
/// Runs when the module is imported, after <see cref="ModuleBootstrap"/> has made Cxas.Core reachable:
/// <list type="number">
/// <item>chooses and binds the native ONNX Runtime (the module's CPU build in <c>lib</c>, or the Cxas.Cuda companion's
/// when it is installed; see <see cref="Cxas.Models.NativeRuntime"/>). Windows PowerShell does not look for native
/// libraries beside a module's assemblies, so this is done up front on every edition;</item>
/// <item>declares that a deserialized result (from a job or a remote session) becomes a <see cref="SegmentationResult"/>
/// again through <see cref="ResultTransferConverter"/>. Cxas.Types.ps1xml cannot say so itself: PowerShell resolves
/// the target type while reading that file, before Cxas.Core (isolated in <c>lib</c>) is loaded;</item>
/// <item>on PowerShell 7, names Cxas.Core's public types for the session (type accelerators under their full names,
/// the way the PowerShell documentation exports a module's classes): PowerShell resolves <c>[Type.Name]</c> literals
/// in the default load context only, so without them <c>$r -is [Cxas.Segmentation.SegmentationResult]</c> would fail.
/// A name some other module already claimed is left alone. <see cref="OnRemove"/> takes back what was added.</item>
/// </list>
/// <see cref="OnRemove"/> also disposes the ONNX sessions of the runspace the module is removed from (<see cref="RunspaceSessions"/>).
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly List<string> AddedAccelerators = new List<string>();

    public void OnImport()
    {
        var version = typeof(ModuleInitializer).Assembly.GetName().Version;
        Cxas.Models.NativeRuntime.Configure(ModuleBootstrap.LibraryDirectory,
            version == null ? "0.0.0" : $"{version.Major}.{version.Minor}.{version.Build}");
        if (ModuleBootstrap.Isolated) AddAccelerators();

        if (Runspace.DefaultRunspace == null) return;
        var rehydrate = new TypeData("Deserialized." + typeof(SegmentationResult).FullName)
        {
            TargetTypeForDeserialization = typeof(SegmentationResult),
        };
        using var ps = System.Management.Automation.PowerShell.Create(RunspaceMode.CurrentRunspace);
        ps.AddCommand("Microsoft.PowerShell.Utility\\Update-TypeData").AddParameter("TypeData", rehydrate).AddParameter("Force").Invoke();
    }

    public void OnRemove(PSModuleInfo module)
    {
        RunspaceSessions.Release(Runspace.DefaultRunspace);
        var accelerators = AcceleratorsClass();
        if (accelerators == null) return;
        lock (AddedAccelerators)
        {
            foreach (var name in AddedAccelerators) accelerators.GetMethod("Remove")?.Invoke(null, new object[] { name });
            AddedAccelerators.Clear();
        }
    }

    private static Type? AcceleratorsClass() => typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");

    private static void AddAccelerators()
    {
        var accelerators = AcceleratorsClass();
        var add = accelerators?.GetMethod("Add", new[] { typeof(string), typeof(Type) });
        var existing = accelerators?.GetProperty("Get")?.GetValue(null) as IDictionary<string, Type>;
        if (add == null || existing == null) return;
        lock (AddedAccelerators)
        {
            foreach (var type in typeof(SegmentationResult).Assembly.GetExportedTypes().Where(t => !t.IsNested && t.FullName != null))
            {
                if (existing.ContainsKey(type.FullName!)) continue;
                add.Invoke(null, new object[] { type.FullName!, type });
                AddedAccelerators.Add(type.FullName!);
            }
        }
    }
}
