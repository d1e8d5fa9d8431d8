
namespace Cxas.Core.Tests.Precision
{
    /// <summary>
    /// The precision, batch and export-worker tests hold whole models in managed arrays (tens of MB) for a while; they run
    /// alone so that process-wide measurements elsewhere (Trust.MemoryTests) never see them.
    /// </summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class PrecisionCollection
    {
        public const string Name = "Precision (heavy, alone)";
    }
}
