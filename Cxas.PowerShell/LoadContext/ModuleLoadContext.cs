using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;

namespace Cxas.LoadContext
{
    /// <summary>
    /// The Cxas module's own assembly load context on PowerShell 7. The module is laid out as
    /// <code>
    /// Cxas/Cxas.PowerShell.dll      cmdlets: loaded by PowerShell into the default context; references only Cxas.Core
    /// Cxas/Cxas.LoadContext.dll     this resolver: loaded into the default context, references only the runtime
    /// Cxas/lib/Cxas.Core.dll ...    Cxas.Core and everything it needs (ImageSharp, ONNX Runtime, ...): this context
    /// </code>
    /// Nothing in <c>lib</c> is where the default context looks, so:
    /// <list type="number">
    /// <item>When the cmdlets first need Cxas.Core, the default context cannot find it and raises <c>Resolving</c>; the
    /// handler installed here answers for the entry assemblies only (Cxas.Core), from this context.</item>
    /// <item>Cxas.Core's own references are then bound by this context first (<see cref="Load"/>): an assembly the
    /// platform provides (the runtime and PowerShell's own, the trusted platform assemblies) comes from the default
    /// context, as it would without isolation, so types such as <c>PSObject</c> and <c>Span&lt;T&gt;</c> stay shared;
    /// anything else found in <c>lib</c> is loaded here, whatever another module loaded into the default context under
    /// the same name.</item>
    /// </list>
    /// Another module's SixLabors.ImageSharp or ONNX Runtime, loaded before or after Cxas, therefore never meets Cxas's.
    /// </summary>
    public sealed class ModuleLoadContext : AssemblyLoadContext
    {
        private static readonly object Gate = new object();
        private static ModuleLoadContext? _instance;

        private readonly string _directory;
        private readonly HashSet<string> _platform;
        private readonly HashSet<string> _entries;

        private ModuleLoadContext(string directory, IEnumerable<string> entries) : base("Cxas", isCollectible: false)
        {
            _directory = directory;
            _entries = new HashSet<string>(entries, StringComparer.OrdinalIgnoreCase);
            var tpa = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "";
            _platform = new HashSet<string>(
                tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(Path.GetFileNameWithoutExtension).OfType<string>(),
                StringComparer.OrdinalIgnoreCase);
        }

        /// <summary>The context, once <see cref="Install"/> has run (null before).</summary>
        public static AssemblyLoadContext? Instance => _instance;

        /// <summary>
        /// Creates the context over <paramref name="dependencyDirectory"/> and lets the default context hand it the
        /// <paramref name="entryAssemblies"/> (simple names). Idempotent: a second import of the module reuses the context.
        /// </summary>
        public static void Install(string dependencyDirectory, string[] entryAssemblies)
        {
            lock (Gate)
            {
                if (_instance != null) return;
                var context = new ModuleLoadContext(Path.GetFullPath(dependencyDirectory), entryAssemblies);
                Default.Resolving += context.ResolveEntry;
                _instance = context;
            }
        }

        private Assembly? ResolveEntry(AssemblyLoadContext requester, AssemblyName name) =>
            name.Name != null && _entries.Contains(name.Name) ? LoadFromAssemblyName(name) : null;

        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name == null || _platform.Contains(name.Name)) return null;
            var path = Path.Combine(_directory, name.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
