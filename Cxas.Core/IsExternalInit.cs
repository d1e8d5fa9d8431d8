namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// The marker type C# needs for init accessors and records; netstandard2.0 lacks it, so the compiler finds this one
    /// (internal: nothing outside Cxas.Core sees it).
    /// </summary>
    internal static class IsExternalInit
    {
    }
}
