
namespace Cxas.PowerShell;

/// <summary>
/// Rebuilds a SegmentationResult that crossed a job or remoting boundary. Cxas.Types.ps1xml makes a result serialize
/// its scalar properties plus a hidden <c>TransferForm</c> (<see cref="ResultTransfer"/>: the masks and source, within
/// <see cref="ResultTransfer.MaxBytes"/>) and names this converter, so the receiving session gets a live result back
/// (TargetTypeForDeserialization) wherever Cxas is loaded, and cmdlets bind a still-deserialized one by converting it.
/// </summary>
public sealed class ResultTransferConverter : PSTypeConverter
{
    internal const string DeserializedTypeName = "Deserialized.Cxas.Segmentation.SegmentationResult";

    /// <summary>The hidden TransferForm property's getter (a CodeProperty in Cxas.Types.ps1xml).</summary>
    public static byte[]? GetTransferForm(PSObject instance) =>
        instance.BaseObject is SegmentationResult r ? ResultTransfer.Pack(r) : null;

    private static byte[]? TransferFormOf(object? value)
    {
        if (!(value is PSObject pso) || !pso.TypeNames.Contains(DeserializedTypeName)) return null;
        var form = pso.Properties["TransferForm"]?.Value;
        if (form is PSObject wrapped) form = wrapped.BaseObject;
        return form as byte[];
    }

    /// <summary>The live result a pipeline object stands for: itself, or its deserialized form rebuilt; null for anything else.</summary>
    internal static SegmentationResult? Rehydrate(object? value)
    {
        if ((value is PSObject pso ? pso.BaseObject : value) is SegmentationResult live) return live;
        var form = TransferFormOf(value);
        return form == null ? null : ResultTransfer.Unpack(form);
    }

    public override bool CanConvertFrom(object sourceValue, Type destinationType) =>
        destinationType == typeof(SegmentationResult) && TransferFormOf(sourceValue) != null;

    public override object ConvertFrom(object sourceValue, Type destinationType, IFormatProvider formatProvider, bool ignoreCase)
    {
        var form = TransferFormOf(sourceValue) ?? throw new PSInvalidCastException(
            "This segmentation result crossed a process boundary without its masks (over the transfer limit of " +
            $"{ResultTransfer.MaxBytes >> 20} MB): export or measure it in the session that segmented it, or segment its Path again.");
        return ResultTransfer.Unpack(form);
    }

    public override bool CanConvertTo(object sourceValue, Type destinationType) => false;

    public override object ConvertTo(object sourceValue, Type destinationType, IFormatProvider formatProvider, bool ignoreCase) =>
        throw new PSInvalidCastException("A SegmentationResult converts only from its own deserialized form.");
}
