namespace Cxas.Models
{
    /// <summary>
    /// How weights are stored. On x64 ONNX Runtime multiplies uint8 activations by int8 weights with vpmaddubsw unless the
    /// processor has VNNI (AVX-512 VNNI or AVX-VNNI): two products are added into a saturating 16-bit sum, and
    /// 255 x 127 x 2 = 64770 overflows 32767, so a U8S8 model's integer results depend on the machine. With weights
    /// within +-64 (7 bits), 255 x 64 x 2 = 32640 cannot saturate and every class computes the same integers.
    /// <para>The scheme is part of what an int8 model is (recorded in its manifest, read by the catalog), so it is a
    /// Models type; the quantizer in Cxas.Precision chooses it.</para>
    /// </summary>
    public enum Int8Scheme
    {
        /// <summary>uint8 activations, int8 weights within +-64: the same results on every x64 class (default).</summary>
        U8S7,
        /// <summary>uint8 activations, int8 weights within +-127: exact only where the processor has VNNI.</summary>
        U8S8,
        /// <summary>uint8 activations, uint8 weights (zero point 128): exact everywhere, on 16-bit kernels.</summary>
        U8U8,
    }

    /// <summary>
    /// Whether an int8 model's checked agreement holds on this processor. A U8S7 or U8U8 model computes the same integers
    /// on every x64 class, so its check holds anywhere. A U8S8 model (8-bit int8 weights; every int8 model made before
    /// the scheme was recorded) was exact where it was checked only if that machine had VNNI; on a class without VNNI
    /// ONNX Runtime's kernels can saturate and its masks drift from the checked ones (measured on the width-reduced
    /// reference network: logits 15.4 % of their range off instead of 6.4 %). Such a model cannot be re-checked where it
    /// runs, since its float original is not beside it, so the cmdlets warn, naming the remedy: convert it again.
    /// <para>It reads only the manifest, so it lives with the model: the catalog asks it without reaching up into the
    /// converter, which writes the keys below through <c>PrecisionConverter</c>.</para>
    /// </summary>
    internal static class Int8Portability
    {
        /// <summary>Provenance key: the int8 weight scheme (U8S7, U8S8, U8U8); absent on models made before it was recorded (U8S8).</summary>
        public const string SchemeKey = "precision.scheme";
        /// <summary>Provenance key: the processor and instruction class the agreement was measured on.</summary>
        public const string CheckedOnKey = "precision.checkedOn";

        /// <summary>The model's weight scheme: null for a float model, U8S8 for an int8 one that does not record it.</summary>
        public static Int8Scheme? SchemeOf(ModelManifest manifest)
        {
            if (!string.Equals(manifest.Precision, "int8", StringComparison.OrdinalIgnoreCase)) return null;
            if (manifest.Provenance != null && manifest.Provenance.TryGetValue(SchemeKey, out var text)
                && Enum.TryParse<Int8Scheme>(text, true, out var scheme))
                return scheme;
            return Int8Scheme.U8S8;
        }

        /// <summary>A warning for a U8S8 model on a class without VNNI (<paramref name="cpuClass"/>, see <see cref="CpuClass"/>), else null.</summary>
        public static string? Note(ModelManifest manifest, string cpuClass)
        {
            if (SchemeOf(manifest) != Int8Scheme.U8S8 || CpuClass.HasVnni(cpuClass) || cpuClass == CpuClass.NotX64 || cpuClass == CpuClass.Unknown)
                return null;
            string checkedOn = manifest.Provenance != null && manifest.Provenance.TryGetValue(CheckedOnKey, out var on) ? on : "a CPU it does not record";
            return $"Model '{manifest.Name}' is int8 with 8-bit weights (scheme U8S8), checked on {checkedOn}. This CPU ({cpuClass}) has no VNNI: " +
                   "ONNX Runtime's integer kernels can saturate on such weights, so its masks may differ from the checked ones. " +
                   "Convert it again from its float32 model (the default scheme U8S7 computes the same on every x64 CPU).";
        }
    }
}
