using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Cxas.Imaging;
using Cxas.IO;
using Cxas.Models;
using Cxas.Onnx;
using Microsoft.ML.OnnxRuntime;
using Cxas.Inference;

namespace Cxas.Precision
{
    // A model at another precision, made from its float32 ONNX file:
    //   int8: calibration images -> activation ranges (ActivationCalibrator) -> QDQ rewrite (Int8Quantizer);
    //   fp16: float16 weights with float32 inputs and outputs (Fp16Converter).
    // Then the agreement check (MaskAgreement) on the check images against the float model on the device the variant is
    // for (int8: CPU; fp16: CUDA, or CPU when ONNX Runtime's CPU provider runs it). A variant that misses the bound is
    // refused with its figures (PrecisionRefusedException) and nothing is kept; one whose agreement could not be measured
    // (fp16 without a device that runs it) is kept with that stated in its manifest.
    // The manifest records the precision and, in provenance, the calibration and agreement figures.

    public enum ModelPrecision { Fp32, Int8, Fp16 }

    public sealed class PrecisionOptions
    {
        /// <summary>Radiographs whose activations set the int8 ranges (required for Int8; 16 to 64 is plenty).</summary>
        public IReadOnlyList<string> CalibrationImages { get; set; } = Array.Empty<string>();
        /// <summary>Radiographs for the agreement check; default the calibration images.</summary>
        public IReadOnlyList<string>? CheckImages { get; set; }
        /// <summary>Least fraction of grid pixels (all classes together) on which the variant's masks equal the float model's.</summary>
        public double MinPixelAgreement { get; set; } = 0.995;
        /// <summary>
        /// Calibration percentile per image (100: min and max); see <see cref="ActivationCalibrator"/>. 99.99 measured best
        /// on the default model's validation split (docs/benchmarks.md, Int8 and fp16).
        /// </summary>
        public double CalibrationPercentile { get; set; } = 99.99;
        /// <summary>Ranges are the mean of the calibration images' ranges instead of their union.</summary>
        public bool CalibrationAverage { get; set; }
        /// <summary>Which parts of the network stay float; see <see cref="Int8Options"/>.</summary>
        public Int8Options Int8 { get; set; } = new Int8Options();
        /// <summary>Device for the fp16 agreement check: CUDA device 0 when null and one is there, else the CPU if it runs float16.</summary>
        public DeviceSpec? CheckDevice { get; set; }
    }

    public sealed class PrecisionResult
    {
        public ModelPrecision Precision { get; internal init; }
        public AgreementReport Agreement { get; internal init; } = new AgreementReport();
        public int CalibrationImages { get; internal init; }
        public double CalibrationPercentile { get; internal init; }
        public int QuantizedTensors { get; internal init; }
        public int QuantizedConvolutions { get; internal init; }
        /// <summary>Convolutions left float (by default the first, which reads the image, and the head).</summary>
        public int FloatConvolutions { get; internal init; }
        public long OnnxBytes { get; internal init; }
        /// <summary>Int8: how the weights are stored.</summary>
        public Int8Scheme Scheme { get; internal init; }
        /// <summary>The processor the agreement was measured on: model and instruction class (<see cref="CpuClass"/>).</summary>
        public string CheckedOn { get; internal init; } = CpuClass.Description;
    }

    public static class PrecisionConverter
    {
        public static string Name(ModelPrecision precision) => precision.ToString().ToLowerInvariant();

        /// <summary>Parses fp32, int8 or fp16 (any case); a clear error otherwise.</summary>
        public static ModelPrecision Parse(string text)
        {
            foreach (ModelPrecision p in Enum.GetValues(typeof(ModelPrecision)))
                if (string.Equals(Name(p), text?.Trim(), StringComparison.OrdinalIgnoreCase)) return p;
            throw new CxasException(CxasErrorKind.InvalidArgument, $"Precision '{text}' is not one of Fp32, Int8, Fp16.");
        }

        /// <summary>
        /// Writes a copy of the model folder <paramref name="sourceDirectory"/> at <paramref name="precision"/> into
        /// <paramref name="targetDirectory"/> (written under a temporary name and renamed when complete and accepted).
        /// </summary>
        public static PrecisionResult Convert(string sourceDirectory, string targetDirectory, ModelPrecision precision, PrecisionOptions options,
            bool overwrite = false, string? name = null, Action<ImportProgress>? progress = null)
        {
            var source = Path.GetFullPath(sourceDirectory);
            var manifestPath = Path.Combine(source, CxasModel.ManifestFileName);
            if (!File.Exists(manifestPath))
                throw new CxasException(CxasErrorKind.NotFound, $"Model folder '{source}' has no {CxasModel.ManifestFileName}.", source);
            var manifest = ModelManifest.Load(manifestPath);
            if (manifest.Precision != null && Parse(manifest.Precision) != ModelPrecision.Fp32)
                throw new CxasException(CxasErrorKind.NotSupported, $"Model '{source}' is already {manifest.Precision}; convert from its float32 original.", source);
            if (name != null) ModelNames.Validate(name, source);
            ModelNames.Validate(Path.GetFileName(targetDirectory.TrimEnd('/', '\\')), source);
            var target = Path.GetFullPath(targetDirectory);
            PrecisionResult? result = null;
            AtomicOutput.WriteDirectory(target, overwrite, temp =>
            {
                var onnx = Path.Combine(temp, CxasModel.OnnxFileName);
                if (name != null) manifest.Name = name;
                result = ConvertFile(Path.Combine(source, CxasModel.OnnxFileName), manifest, onnx, precision, options, progress);
                Record(manifest, result);
                manifest.Save(Path.Combine(temp, CxasModel.ManifestFileName));
                foreach (var file in Directory.GetFiles(source))
                {
                    var fileName = Path.GetFileName(file);
                    if (fileName != CxasModel.OnnxFileName && fileName != CxasModel.ManifestFileName)
                        File.Copy(file, Path.Combine(temp, fileName));
                }
            });
            return result!;
        }

        /// <summary>Provenance key: the int8 weight scheme (U8S7, U8S8, U8U8); absent on models made before it was recorded (U8S8).</summary>
        public const string SchemeKey = Int8Portability.SchemeKey;
        /// <summary>Provenance key: the processor and instruction class the agreement was measured on.</summary>
        public const string CheckedOnKey = Int8Portability.CheckedOnKey;

        /// <summary>Adds the precision and its figures to a manifest.</summary>
        public static void Record(ModelManifest manifest, PrecisionResult result)
        {
            manifest.Precision = Name(result.Precision);
            if (result.Precision == ModelPrecision.Fp32) return;
            var inv = CultureInfo.InvariantCulture;
            manifest.Provenance ??= new Dictionary<string, string>(StringComparer.Ordinal);
            var a = result.Agreement;
            if (result.Precision == ModelPrecision.Int8)
                manifest.Provenance["precision.int8"] = string.Format(inv,
                    "static QDQ: uint8 activations ({3} percentile ranges over {0} calibration images), {5} per-channel symmetric weights, int32 biases; {1} tensors and {2} convolutions quantized, {4} convolutions float (by default the first, which reads the image, and the head)",
                    result.CalibrationImages, result.QuantizedTensors, result.QuantizedConvolutions, result.CalibrationPercentile, result.FloatConvolutions,
                    result.Scheme switch
                    {
                        Int8Scheme.U8S7 => "int8 (within +-64, 7 bits: no 16-bit saturation without VNNI)",
                        Int8Scheme.U8U8 => "uint8 (zero point 128)",
                        _ => "int8 (within +-127: exact only with VNNI)",
                    });
            else
                manifest.Provenance["precision.fp16"] = "float16 weights and activations, float32 input and output (Cast nodes); for CUDA";
            if (result.Precision == ModelPrecision.Int8) manifest.Provenance[SchemeKey] = result.Scheme.ToString();
            manifest.Provenance[CheckedOnKey] = result.CheckedOn;
            manifest.Provenance["precision.agreement"] = a.NotChecked != null ? "not checked: " + a.NotChecked
                : a.Summary() + "; per class: " + string.Join(", ", a.Classes.Select(c => string.Format(inv, "{0} {1:F4}/{2:F4}", c.Label, c.PixelAgreement, c.Dice)));
        }

        /// <summary>
        /// Converts one float32 ONNX file to <paramref name="outputOnnx"/> and checks agreement; on refusal the output file
        /// is removed and <see cref="PrecisionRefusedException"/> carries the figures.
        /// </summary>
        public static PrecisionResult ConvertFile(string fp32Onnx, ModelManifest manifest, string outputOnnx, ModelPrecision precision,
            PrecisionOptions options, Action<ImportProgress>? progress = null)
        {
            if (precision == ModelPrecision.Fp32)
            {
                File.Copy(fp32Onnx, outputOnnx, overwrite: true);
                return new PrecisionResult
                {
                    Precision = precision, OnnxBytes = new FileInfo(outputOnnx).Length,
                    Agreement = new AgreementReport { Precision = "fp32", MinPixelAgreement = options.MinPixelAgreement },
                };
            }
            // The figures of the rewrite, gathered as it goes; the result is built whole at the end.
            int calibrationImages = 0, quantizedTensors = 0, quantizedConvolutions = 0, floatConvolutions = 0;
            double calibrationPercentile = 0;
            var scheme = default(Int8Scheme);
            var checkImages = options.CheckImages ?? options.CalibrationImages;
            if (precision == ModelPrecision.Int8 && options.CalibrationImages.Count == 0)
                throw new CxasException(CxasErrorKind.InvalidArgument, "Int8 conversion needs calibration radiographs (a few dozen chest X-rays like those it will segment).");
            if (checkImages.Count == 0)
                throw new CxasException(CxasErrorKind.InvalidArgument, "The agreement check needs radiographs; give calibration or check images.");

            var model = OnnxModel.Load(fp32Onnx);
            int w = manifest.Input.Width, h = manifest.Input.Height;
            if (precision == ModelPrecision.Int8)
            {
                var input = new float[3 * w * h];
                // A copy: the sizes measured here are this model's, not the caller's options'.
                var int8 = new Int8Options
                {
                    FloatFirstConvolutions = options.Int8.FloatFirstConvolutions, FloatLastConvolutions = options.Int8.FloatLastConvolutions,
                    BiasCorrection = options.Int8.BiasCorrection, FloatBelowPixels = options.Int8.FloatBelowPixels,
                    FloatConvolutionOutputs = new HashSet<string>(options.Int8.FloatConvolutionOutputs, StringComparer.Ordinal),
                    Scheme = options.Int8.Scheme,
                };
                if (int8.FloatBelowPixels > 0)
                {
                    // Output sizes of the convolutions, from the first calibration image.
                    var convOutputs = model.Nodes.Where(n => n.OpType == "Conv").Select(n => n.Outputs[0]).ToList();
                    using var probe = new ActivationCalibrator(model, convOutputs, percentile: 100);
                    ModelInput.Fill(ImageLoader.Load(options.CalibrationImages[0]).Raster, w, h, manifest.Input.Mean, manifest.Input.Std, input);
                    probe.Add(input, h, w);
                    foreach (var t in convOutputs)
                        if (probe.Shapes.TryGetValue(t, out var shape) && shape.Length == 4 && shape[2] * shape[3] < int8.FloatBelowPixels)
                            int8.FloatConvolutionOutputs.Add(t);
                }
                var plan = Int8Quantizer.Plan(model, int8);
                using (var calibrator = new ActivationCalibrator(model, plan.Calibrated, percentile: options.CalibrationPercentile, averageImages: options.CalibrationAverage))
                {
                    for (int i = 0; i < options.CalibrationImages.Count; i++)
                    {
                        var path = options.CalibrationImages[i];
                        progress?.Invoke(new ImportProgress("Calibrating int8 ranges", i * 100 / options.CalibrationImages.Count, Path.GetFileName(path)));
                        ModelInput.Fill(ImageLoader.Load(path).Raster, w, h, manifest.Input.Mean, manifest.Input.Std, input);
                        calibrator.Add(input, h, w);
                    }
                    Int8Quantizer.Apply(model, plan, calibrator.Ranges, int8.BiasCorrection ? calibrator.ChannelMeans : null, int8.Scheme);
                }
                calibrationImages = options.CalibrationImages.Count;
                calibrationPercentile = options.CalibrationPercentile;
                quantizedTensors = plan.Activations.Count;
                quantizedConvolutions = plan.WeightConvs.Count;
                floatConvolutions = plan.FloatConvolutions.Count;
                scheme = int8.Scheme;
            }
            else
            {
                Fp16Converter.Apply(model);
            }
            progress?.Invoke(new ImportProgress("Writing model.onnx", -1, Name(precision)));
            model.Save(outputOnnx);
            model = null!;
            long onnxBytes = new FileInfo(outputOnnx).Length;

            var agreement = Check(fp32Onnx, outputOnnx, manifest, precision, options, checkImages, progress);
            if (agreement.NotChecked == null && !agreement.Passed)
            {
                AtomicOutput.TryDelete(outputOnnx);
                throw new PrecisionRefusedException(agreement, outputOnnx);
            }
            var result = new PrecisionResult
            {
                Precision = precision, Agreement = agreement, OnnxBytes = onnxBytes, CalibrationImages = calibrationImages,
                CalibrationPercentile = calibrationPercentile, QuantizedTensors = quantizedTensors,
                QuantizedConvolutions = quantizedConvolutions, FloatConvolutions = floatConvolutions, Scheme = scheme,
            };
            return result;
        }

        private static AgreementReport Check(string fp32Onnx, string variantOnnx, ModelManifest manifest, ModelPrecision precision,
            PrecisionOptions options, IReadOnlyList<string> images, Action<ImportProgress>? progress)
        {
            SessionOptions? variantOptions = null;
            string? cudaWhy = null;
            try
            {
                if (precision == ModelPrecision.Fp16)
                {
                    var device = options.CheckDevice ?? (ModelSession.CudaAvailable() ? new DeviceSpec(DeviceKind.Cuda, 0) : DeviceSpec.Cpu);
                    variantOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
                    if (device.Kind == DeviceKind.Cuda)
                    {
                        cudaWhy = ModelSession.SetUpCuda(variantOptions, device.Index);
                        // Without a usable CUDA device, the CPU provider is tried (when no device was asked for).
                        if (cudaWhy != null && options.CheckDevice != null) return NotChecked(cudaWhy);
                        if (cudaWhy != null)
                        {
                            variantOptions.Dispose();
                            variantOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
                        }
                    }
                }
                MaskAgreement agreement;
                try { agreement = new MaskAgreement(fp32Onnx, variantOnnx, manifest, variantOptions); }
                catch (CxasException ex) when (precision == ModelPrecision.Fp16)
                {
                    return NotChecked((cudaWhy != null ? cudaWhy + " " : "") + "ONNX Runtime's CPU provider could not run the float16 model: " + ex.Message);
                }
                using (agreement)
                {
                    for (int i = 0; i < images.Count; i++)
                    {
                        progress?.Invoke(new ImportProgress("Checking agreement with float32", i * 100 / images.Count, Path.GetFileName(images[i])));
                        agreement.Add(ImageLoader.Load(images[i]));
                    }
                    var device = precision == ModelPrecision.Fp16 && cudaWhy == null && options.CheckDevice?.Kind != DeviceKind.Cpu && ModelSession.CudaAvailable() ? "CUDA" : "CPU";
                    return agreement.Report(Name(precision), options.MinPixelAgreement, device);
                }
            }
            finally
            {
                variantOptions?.Dispose();
            }

            AgreementReport NotChecked(string why) => new AgreementReport { Precision = Name(precision), MinPixelAgreement = options.MinPixelAgreement, NotChecked = why };
        }
    }
}
