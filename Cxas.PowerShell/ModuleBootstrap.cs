using System.Reflection;
using System.Runtime.InteropServices;

// [ModuleInitializer] is Cxas.Core's internal marker (netstandard2.0 has none; Core's internals are visible here).
namespace Cxas.PowerShell;

/// <summary>
/// Isolates the module's dependencies before anything of Cxas.Core is touched. The module folder holds only the
/// cmdlets (this assembly), <c>Cxas.LoadContext.dll</c>, the manifest, views, help and models; Cxas.Core and everything
/// it needs lie in <c>lib</c>, where no host looks by itself. This runs as the assembly's module initializer, that is
/// before the first line of any other code in it, so it comes before PowerShell's <see cref="ModuleInitializer"/>
/// and before any cmdlet, converter or completer needs a Cxas.Core type:
/// <list type="bullet">
/// <item>PowerShell 7 (.NET): <c>Cxas.LoadContext</c> creates the module's own AssemblyLoadContext over <c>lib</c>
/// and answers the default context's request for Cxas.Core from it (see ModuleLoadContext in that project).</item>
/// <item>Windows PowerShell 5.1 (.NET Framework, one load context): an AssemblyResolve handler answers only for
/// assemblies that <c>lib</c> holds, and only when the version asked for is at most the one shipped (the binding
/// redirects a module cannot declare); any other request is left to the host and to other modules.</item>
/// </list>
/// Without a <c>lib</c> folder (the assemblies side by side, as in a build output folder) nothing is changed.
/// </summary>
internal static class ModuleBootstrap
{
    internal const string LibraryFolderName = "lib";

    /// <summary>The folder Cxas.Core and its dependencies (managed and native) were found in.</summary>
    internal static string LibraryDirectory { get; private set; } = "";

    /// <summary>Whether Cxas.Core lives in the module's own load context (PowerShell 7 with a <c>lib</c> folder).</summary>
    internal static bool Isolated { get; private set; }

    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Run()
    {
        var moduleDir = Path.GetDirectoryName(typeof(ModuleBootstrap).Assembly.Location) ?? "";
        var lib = Path.Combine(moduleDir, LibraryFolderName);
        if (!Directory.Exists(lib))
        {
            LibraryDirectory = moduleDir;
            return;
        }
        LibraryDirectory = lib;
        if (RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal))
            new FrameworkResolver(lib).Attach();
        else
        {
            InstallLoadContext(moduleDir, lib);
            Isolated = true;
        }
    }

    private static void InstallLoadContext(string moduleDir, string lib)
    {
        var loader = Assembly.LoadFrom(Path.Combine(moduleDir, "Cxas.LoadContext.dll"));
        var install = loader.GetType("Cxas.LoadContext.ModuleLoadContext", throwOnError: true)!.GetMethod("Install")!;
        install.Invoke(null, new object[] { lib, new[] { "Cxas.Core" } });
    }

    /// <summary>
    /// The .NET Framework half: AssemblyResolve limited to lib's assemblies and versions (tested on its own under Mono,
    /// tests/Desktop/FrameworkResolverTests.cs).
    /// </summary>
    internal sealed class FrameworkResolver
    {
        private readonly string _lib;
        private readonly Dictionary<string, AssemblyName?> _shipped = new Dictionary<string, AssemblyName?>(StringComparer.OrdinalIgnoreCase);

        public FrameworkResolver(string lib) => _lib = lib;

        public void Attach() => AppDomain.CurrentDomain.AssemblyResolve += Resolve;

        private Assembly? Resolve(object? sender, ResolveEventArgs args)
        {
            var path = PathFor(args.Name);
            return path == null ? null : Assembly.LoadFrom(path);
        }

        /// <summary>
        /// The file in lib that answers a request (a full or partial assembly name), or null when the request is not
        /// lib's to answer: another name, a higher version than shipped, or another public key token.
        /// </summary>
        internal string? PathFor(string assemblyName)
        {
            AssemblyName requested;
            // A request that is not a valid assembly name is not lib's (and must not throw inside the loader's event).
            try { requested = new AssemblyName(assemblyName); }
            catch (Exception ex) when (ex is FileLoadException || ex is ArgumentException) { return null; }
            // A name is a file name in lib, never a path out of it.
            if (requested.Name == null || requested.Name.Length == 0 || requested.Name.IndexOfAny(new[] { '/', '\\', ':' }) >= 0) return null;
            AssemblyName? shipped;
            lock (_shipped)
            {
                if (!_shipped.TryGetValue(requested.Name, out shipped))
                {
                    var path = Path.Combine(_lib, requested.Name + ".dll");
                    shipped = File.Exists(path) ? AssemblyName.GetAssemblyName(path) : null;
                    _shipped[requested.Name] = shipped;
                }
            }
            if (shipped == null) return null;
            if (requested.Version != null && shipped.Version != null && requested.Version > shipped.Version) return null;
            var token = requested.GetPublicKeyToken();
            if (token != null && token.Length > 0 && !TokensEqual(token, shipped.GetPublicKeyToken())) return null;
            return Path.Combine(_lib, requested.Name + ".dll");
        }

        private static bool TokensEqual(byte[] a, byte[]? b)
        {
            if (b == null || a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }
    }
}
