// netstandard2.0 lacks the marker types two C# features look for by name; the compiler accepts these internal ones.
namespace System.Runtime.CompilerServices
{
    /// <summary>Lets <c>init</c> accessors and records compile for netstandard2.0.</summary>
    internal static class IsExternalInit { }

    /// <summary>Marks a method the runtime calls once when the assembly is first used (see <c>Cxas.Composition</c>).</summary>
    [AttributeUsage(AttributeTargets.Method, Inherited = false)]
    internal sealed class ModuleInitializerAttribute : Attribute { }
}
