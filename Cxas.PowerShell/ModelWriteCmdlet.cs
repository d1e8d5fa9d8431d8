using Cxas.Import;
using Cxas.Imaging;
using Cxas.Precision;

namespace Cxas.PowerShell;

/// <summary>
/// The base of the cmdlets that write a model folder from a checkpoint (Import-CxasModel, Install-CxasModel): whether
/// an existing folder is replaced, and at which precision the network is written (see Cxas.Precision: int8 for CPUs
/// needs calibration radiographs; every reduced precision is checked against float32 and refused, with the figures,
/// when its masks disagree).
/// </summary>
public abstract class ModelWriteCmdlet : CxasCmdlet
{
    /// <summary>Replace an existing model folder of the same name.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Fp32 (default), Int8 (CPU inference: about 2.5x faster, 4x smaller; needs -CalibrationPath) or Fp16 (for CUDA).</summary>
    [Parameter]
    public ModelPrecision Precision { get; set; } = ModelPrecision.Fp32;

    /// <summary>Radiographs (files or folders, PNG, JPEG, TIFF or DICOM) that set the int8 ranges and check the result; 16 to 64 typical images are plenty. Fp16 is checked on them when given.</summary>
    [Parameter]
    [Alias("Calibration")]
    public string[]? CalibrationPath { get; set; }

    /// <summary>The import settings for -Precision; a missing -CalibrationPath for Int8 is an argument error.</summary>
    internal ImportOptions PrecisionImportOptions()
    {
        var images = CalibrationPath == null
            ? new List<string>()
            : ExpandInputs(CalibrationPath, literal: false, recurse: true).Select(f => f.Path).ToList();
        if (Precision == ModelPrecision.Int8 && images.Count == 0)
            throw new CxasException(CxasErrorKind.InvalidArgument,
                "-Precision Int8 needs calibration radiographs: give -CalibrationPath (files or a folder of typical images).");
        var options = new ImportOptions { Precision = Precision };
        if (images.Count > 0) options.PrecisionOptions.CalibrationImages = images;
        return options;
    }

    /// <summary>One verbose line on a reduced-precision model's agreement with float32.</summary>
    internal void ReportPrecision(PrecisionResult? result)
    {
        if (result != null) WriteVerbose($"{result.Precision}: {result.Agreement.Summary()}");
    }
}
