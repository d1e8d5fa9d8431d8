using System.Reflection;
using System.Runtime.InteropServices;

namespace Cxas.Interop
{
    /// <summary>
    /// A native library that is optional at run time (a codec the system may or may not have), and its functions as
    /// delegates:
    /// <list type="number">
    /// <item>The library is opened under the first of its candidate names that loads, once per process: later requests
    /// for the same candidates get the same instance (or the same null when none loaded).</item>
    /// <item>Opening goes through the runtime's <c>NativeLibrary</c> where it exists (.NET Core 3 and later; found by
    /// reflection, as Cxas.Core targets netstandard2.0), which searches like <c>DllImport</c>: beside Cxas.Core.dll,
    /// then the system's paths, adding the platform's prefix and suffix. Older runtimes use the operating system's loader
    /// directly (<c>LoadLibrary</c> on Windows, <c>dlopen</c> elsewhere).</item>
    /// <item>A caller declares each function it uses as a delegate type marked with the C symbol
    /// (<see cref="NativeSymbolAttribute"/>); <see cref="Bind"/> looks every one up and wraps it with
    /// <see cref="Marshal.GetDelegateForFunctionPointer(IntPtr, Type)"/>, all at once, so a library that lacks one counts
    /// as absent rather than failing in the middle of a decode.</item>
    /// </list>
    /// </summary>
    internal sealed class NativeLib
    {
        // Process-wide on purpose: the loader maps a library once per process, whoever asks; this only remembers the handle.
        private static readonly Dictionary<string, NativeLib?> Opened = new Dictionary<string, NativeLib?>(StringComparer.Ordinal);
        private static readonly object Gate = new object();

        private static readonly MethodInfo? RuntimeTryLoad = Type.GetType("System.Runtime.InteropServices.NativeLibrary")?
            .GetMethod("TryLoad", new[] { typeof(string), typeof(Assembly), typeof(DllImportSearchPath?), typeof(IntPtr).MakeByRefType() });
        private static readonly MethodInfo? RuntimeTryGetExport = Type.GetType("System.Runtime.InteropServices.NativeLibrary")?
            .GetMethod("TryGetExport", new[] { typeof(IntPtr), typeof(string), typeof(IntPtr).MakeByRefType() });

        private readonly IntPtr _handle;

        private NativeLib(string name, IntPtr handle)
        {
            Name = name;
            _handle = handle;
        }

        /// <summary>The candidate name the library was opened under.</summary>
        public string Name { get; }

        /// <summary>The library under the first of <paramref name="candidates"/> that loads, or null when none does.</summary>
        public static NativeLib? Open(params string[] candidates)
        {
            var key = string.Join("|", candidates);
            lock (Gate)
            {
                if (Opened.TryGetValue(key, out var known)) return known;
                NativeLib? found = null;
                foreach (var name in candidates)
                {
                    var handle = Load(name);
                    if (handle != IntPtr.Zero) { found = new NativeLib(name, handle); break; }
                }
                Opened[key] = found;
                return found;
            }
        }

        /// <summary>
        /// Every function <paramref name="owner"/> declares (its nested delegate types marked <see cref="NativeSymbolAttribute"/>),
        /// resolved from the library under the first of <paramref name="candidates"/> that loads; null when none loads or the
        /// one that does lacks a function.
        /// </summary>
        public static NativeFunctions? Bind(Type owner, params string[] candidates)
        {
            var lib = Open(candidates);
            if (lib == null) return null;
            var functions = new Dictionary<Type, Delegate>();
            foreach (var type in owner.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
            {
                var symbol = type.GetCustomAttribute<NativeSymbolAttribute>();
                if (symbol == null || !typeof(Delegate).IsAssignableFrom(type)) continue;
                var address = Export(lib._handle, symbol.Name);
                if (address == IntPtr.Zero) return null;
                functions[type] = Marshal.GetDelegateForFunctionPointer(address, type);
            }
            return new NativeFunctions(lib.Name, functions);
        }

        private static bool IsWindows => Environment.OSVersion.Platform == PlatformID.Win32NT;

        /// <summary>The library's handle, or zero when it is absent or cannot be loaded (another architecture's build, say).</summary>
        private static IntPtr Load(string name)
        {
            try
            {
                if (RuntimeTryLoad != null)
                {
                    var args = new object?[] { name, typeof(NativeLib).Assembly, null, IntPtr.Zero };
                    return (bool)RuntimeTryLoad.Invoke(null, args)! ? (IntPtr)args[3]! : IntPtr.Zero;
                }
                return IsWindows ? Kernel32.LoadLibrary(name) : Dl.Open(name, Dl.Now);
            }
            catch (TargetInvocationException) { return IntPtr.Zero; }
            catch (DllNotFoundException) { return IntPtr.Zero; }
            catch (EntryPointNotFoundException) { return IntPtr.Zero; }
            catch (BadImageFormatException) { return IntPtr.Zero; }
        }

        private static IntPtr Export(IntPtr handle, string symbol)
        {
            if (RuntimeTryGetExport != null)
            {
                var args = new object[] { handle, symbol, IntPtr.Zero };
                return (bool)RuntimeTryGetExport.Invoke(null, args)! ? (IntPtr)args[2] : IntPtr.Zero;
            }
            return IsWindows ? Kernel32.GetProcAddress(handle, symbol) : Dl.Symbol(handle, symbol);
        }

        /// <summary>The operating system loader on Windows, for runtimes without <c>NativeLibrary</c> (.NET Framework).</summary>
        private static class Kernel32
        {
            [DllImport("kernel32", EntryPoint = "LoadLibraryW", CharSet = CharSet.Unicode, SetLastError = true)]
            public static extern IntPtr LoadLibrary(string name);

            [DllImport("kernel32", CharSet = CharSet.Ansi, ExactSpelling = true)]
            public static extern IntPtr GetProcAddress(IntPtr module, string name);
        }

        /// <summary>The dynamic loader elsewhere (libdl; Mono on Linux and macOS).</summary>
        private static class Dl
        {
            public const int Now = 2;

            [DllImport("libdl", EntryPoint = "dlopen")]
            public static extern IntPtr Open(string name, int flags);

            [DllImport("libdl", EntryPoint = "dlsym")]
            public static extern IntPtr Symbol(IntPtr handle, string name);
        }
    }

    /// <summary>Names the C function a delegate type stands for (see <see cref="NativeLib.Bind"/>).</summary>
    [AttributeUsage(AttributeTargets.Delegate)]
    internal sealed class NativeSymbolAttribute : Attribute
    {
        public NativeSymbolAttribute(string name) => Name = name;
        public string Name { get; }
    }

    /// <summary>The functions of one native library, each by its delegate type.</summary>
    internal sealed class NativeFunctions
    {
        private readonly Dictionary<Type, Delegate> _functions;

        public NativeFunctions(string library, Dictionary<Type, Delegate> functions)
        {
            Library = library;
            _functions = functions;
        }

        /// <summary>The name the library was opened under.</summary>
        public string Library { get; }

        public T Get<T>() where T : Delegate => (T)_functions[typeof(T)];
    }
}
