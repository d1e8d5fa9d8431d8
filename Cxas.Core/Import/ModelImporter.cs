using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Cxas.IO;
using Cxas.Models;
using Cxas.Precision;

namespace Cxas.Import
{
    /// <summary>Choices for <see cref="ModelImporter.Import"/>; every one has a sensible default. Options a caller fills, so settable (the result is immutable).</summary>
    public sealed class ImportOptions
    {
        /// <summary>Model name; default "UNet_ResNet50_default" for the reference, else the checkpoint's file name.</summary>
        public string? Name { get; set; }
        public string Version { get; set; } = "1";
        /// <summary>Class names; default the reference's 159 names for a 159-class model, else class_0, class_1, ...</summary>
        public IReadOnlyList<string>? Labels { get; set; }
        /// <summary>Licence note; default the reference's for a 159-class reference model, else "unknown".</summary>
        public string? Licence { get; set; }
        public int InputWidth { get; set; } = 512;
        public int InputHeight { get; set; } = 512;
        /// <summary>Check that ONNX Runtime loads the new model before it is moved into place.</summary>
        public bool Verify { get; set; } = true;
        public bool TestOnly { get; set; }
        /// <summary>Entries added to (or replacing) the manifest's provenance, e.g. the URL an installer downloaded from.</summary>
        public IDictionary<string, string>? Provenance { get; set; }
        /// <summary>Precision of the written model; Int8 needs calibration images (<see cref="Cxas.Precision.PrecisionOptions.CalibrationImages"/>).</summary>
        public Precision.ModelPrecision Precision { get; set; } = Cxas.Precision.ModelPrecision.Fp32;
        /// <summary>Calibration and agreement-check choices for Int8 and Fp16.</summary>
        public Precision.PrecisionOptions PrecisionOptions { get; set; } = new Precision.PrecisionOptions();
    }

    /// <summary>What an import produced.</summary>
    public sealed class ImportResult
    {
        public string Name { get; internal init; } = "";
        public string Directory { get; internal init; } = "";
        public string Source { get; internal init; } = "";
        public string SourceSha256 { get; internal init; } = "";
        public string Architecture { get; internal init; } = "";
        public int Classes { get; internal init; }
        public long Parameters { get; internal init; }
        public long OnnxBytes { get; internal init; }
        public TimeSpan Elapsed { get; internal init; }
        /// <summary>The precision conversion and its agreement figures (null for float32).</summary>
        public Precision.PrecisionResult? Precision { get; internal init; }
        public override string ToString() => Directory;
    }

    /// <summary>Turns a reference-layout PyTorch checkpoint into a Cxas model folder (model.onnx + model.json).</summary>
    public static class ModelImporter
    {
        public const string ReferenceModelName = Models.ModelNames.Reference;
        public const string ReferenceLicence = "CC BY-NC-SA 4.0 (reference weights; not redistributable by Cxas)";

        /// <summary>
        /// Imports <paramref name="checkpointPath"/> into the folder <paramref name="modelDirectory"/>, written under a
        /// temporary name and renamed when complete; an existing folder is replaced only with <paramref name="overwrite"/>.
        /// </summary>
        public static ImportResult Import(string checkpointPath, string modelDirectory, bool overwrite, ImportOptions? options = null,
            Action<ImportProgress>? progress = null)
        {
            options ??= new ImportOptions();
            var watch = Stopwatch.StartNew();
            var source = Path.GetFullPath(checkpointPath);
            var target = CheckTarget(source, modelDirectory, overwrite, options);
            using var checkpoint = TorchCheckpoint.Open(source);
            return ImportOpened(checkpoint, UNetResNetSpec.Infer(checkpoint), source, target, overwrite, options, progress, watch);
        }

        /// <summary>
        /// Imports <paramref name="checkpointPath"/> as a new model folder in <paramref name="root"/>, named
        /// <see cref="ImportOptions.Name"/> or, without one, by the naming rule (<see cref="DefaultName(string, UNetResNetSpec)"/>).
        /// The checkpoint is opened once. <paramref name="confirm"/> (target folder, name) may decline: then nothing is
        /// written and the result is null. The only folder this may create or replace is <c>root/name</c>.
        /// </summary>
        public static ImportResult? ImportInto(string checkpointPath, string root, bool overwrite, ImportOptions? options = null,
            Func<string, string, bool>? confirm = null, Action<ImportProgress>? progress = null)
        {
            options ??= new ImportOptions();
            var watch = Stopwatch.StartNew();
            var source = Path.GetFullPath(checkpointPath);
            using var checkpoint = TorchCheckpoint.Open(source);
            var spec = UNetResNetSpec.Infer(checkpoint);
            options.Name ??= DefaultName(source, spec);
            var target = ModelNames.ModelDirectory(root, options.Name, source);
            if (confirm != null && !confirm(target, options.Name)) return null;
            CheckTarget(source, target, overwrite, options);
            return ImportOpened(checkpoint, spec, source, target, overwrite, options, progress, watch);
        }

        /// <summary>
        /// The folder's own name must be a model name ('d/..' or 'd/.' would make the replacement delete a folder the
        /// caller never meant, issue 10), and an existing folder needs <paramref name="overwrite"/>.
        /// </summary>
        private static string CheckTarget(string source, string modelDirectory, bool overwrite, ImportOptions options)
        {
            ModelNames.Validate(Path.GetFileName(modelDirectory.TrimEnd('/', '\\')), source);
            var target = Path.GetFullPath(modelDirectory);
            if (options.Name != null) ModelNames.Validate(options.Name, source);
            AtomicOutput.EnsureWritable(target, overwrite);
            return target;
        }

        private static ImportResult ImportOpened(TorchCheckpoint checkpoint, UNetResNetSpec spec, string source, string target, bool overwrite,
            ImportOptions options, Action<ImportProgress>? progress, Stopwatch watch)
        {
            // Hash, build, write (with the reduced-precision conversion), then describe what was imported.
            progress?.Invoke(new ImportProgress("Hashing checkpoint", 0, Path.GetFileName(source)));
            var sha256 = Sha256(source, p => progress?.Invoke(new ImportProgress("Hashing checkpoint", p, Path.GetFileName(source))));

            var graph = UNetResNetOnnxBuilder.Build(checkpoint, spec, options.InputHeight, options.InputWidth,
                (done, total) => progress?.Invoke(new ImportProgress("Reading and folding weights", done * 100 / total, $"{done}/{total} tensors")));
            var manifest = CreateManifest(checkpoint, spec, options, sha256);
            long parameters = graph.InitializerValueCount;
            Precision.PrecisionResult? precision = null;
            long onnxBytes = 0;

            AtomicOutput.WriteDirectory(target, overwrite, temp =>
            {
                progress?.Invoke(new ImportProgress("Writing model.onnx", -1, $"{parameters * 4 / (1 << 20)} MB"));
                var onnx = Path.Combine(temp, CxasModel.OnnxFileName);
                bool reduced = options.Precision != Precision.ModelPrecision.Fp32;
                // A reduced-precision model is made from the float one, written first under another name and removed.
                var floatOnnx = reduced ? Path.Combine(temp, "model.fp32.onnx") : onnx;
                graph.Save(floatOnnx);
                // Let the folded weights (the size of the model) go before ONNX Runtime loads its own copy.
                graph = null!;
                GC.Collect();
                if (reduced)
                {
                    var converted = Precision.PrecisionConverter.ConvertFile(floatOnnx, manifest, onnx, options.Precision, options.PrecisionOptions, progress);
                    File.Delete(floatOnnx);
                    Precision.PrecisionConverter.Record(manifest, converted);
                    precision = converted;
                }
                manifest.Save(Path.Combine(temp, CxasModel.ManifestFileName));
                if (options.Verify)
                {
                    progress?.Invoke(new ImportProgress("Checking the model loads", -1, "ONNX Runtime"));
                    VerifyLoads(onnx, spec, options);
                }
                onnxBytes = new FileInfo(onnx).Length;
            });
            return new ImportResult
            {
                Source = source, Directory = target, SourceSha256 = sha256, Name = manifest.Name, Architecture = manifest.Architecture ?? "",
                Classes = spec.Classes, Parameters = parameters, Precision = precision, OnnxBytes = onnxBytes, Elapsed = watch.Elapsed,
            };
        }

        /// <summary>The manifest for an imported checkpoint.</summary>
        internal static ModelManifest CreateManifest(TorchCheckpoint checkpoint, UNetResNetSpec spec, ImportOptions options, string sha256)
        {
            bool reference = spec.IsReference;
            string[] labels;
            if (options.Labels != null)
            {
                if (options.Labels.Count != spec.Classes)
                    throw new CxasException(CxasErrorKind.InvalidArgument,
                        $"{options.Labels.Count} labels were given but the checkpoint has {spec.Classes} classes.", checkpoint.Path);
                labels = options.Labels.ToArray();
            }
            else if (spec.Classes == ReferenceLabels.Names.Length)
                labels = (string[])ReferenceLabels.Names.Clone();
            else
                labels = Enumerable.Range(0, spec.Classes).Select(i => "class_" + i.ToString(CultureInfo.InvariantCulture)).ToArray();

            var name = options.Name;
            if (string.IsNullOrWhiteSpace(name))
                name = DefaultName(checkpoint.Path, spec);

            var provenance = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["source"] = Path.GetFileName(checkpoint.Path),
                ["sourceSha256"] = sha256,
                ["sourceBytes"] = checkpoint.FileLength.ToString(CultureInfo.InvariantCulture),
                ["importedUtc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["importer"] = "Cxas.Core " + (typeof(ModelImporter).Assembly.GetName().Version?.ToString() ?? "0"),
                ["tensors"] = checkpoint.Tensors.Count.ToString(CultureInfo.InvariantCulture),
                ["batchNorm"] = "folded into convolutions, eps 1e-05",
                ["outputConv"] = "applied before the final bilinear resize (exact)",
                ["network"] = spec.Describe(),
            };
            if (checkpoint.StateDictKey != null) provenance["stateDictKey"] = checkpoint.StateDictKey;
            if (checkpoint.KeyRewrites.Count > 0) provenance["keyRewrites"] = string.Join("; ", checkpoint.KeyRewrites);
            foreach (var item in checkpoint.Metadata) provenance["checkpoint." + item.Key] = item.Value;
            if (options.Provenance != null)
                foreach (var item in options.Provenance) provenance[item.Key] = item.Value;

            var manifest = new ModelManifest
            {
                Name = name!,
                Version = options.Version,
                Description = reference
                    ? "Reference UNet_ResNet50_default (159 anatomy classes), imported from its PyTorch checkpoint."
                    : $"Imported from the PyTorch checkpoint '{Path.GetFileName(checkpoint.Path)}'.",
                Architecture = "unet-" + spec.EncoderName,
                Input = new ModelInputSpec { Name = UNetResNetOnnxBuilder.InputName, Width = options.InputWidth, Height = options.InputHeight },
                Output = new ModelOutputSpec { Name = UNetResNetOnnxBuilder.OutputName, Activation = "sigmoid" },
                Threshold = 0.5,
                Labels = labels,
                Licence = options.Licence ?? (reference ? ReferenceLicence : "unknown (imported from a user's checkpoint)"),
                Provenance = provenance,
                TestOnly = options.TestOnly,
            };
            manifest.Validate(checkpoint.Path);
            return manifest;
        }

        /// <summary>
        /// The name an import without an explicit name gives: UNet_ResNet50_default for the reference network, else
        /// the checkpoint's file name without its extension, which must be a valid model name (a file called
        /// '...pth' gives '..', which is refused rather than used as a folder).
        /// </summary>
        internal static string DefaultName(string checkpointPath, UNetResNetSpec spec)
        {
            if (spec.IsReference) return ReferenceModelName;
            var name = Path.GetFileNameWithoutExtension(checkpointPath);
            return ModelNames.Validate(name, Path.GetFullPath(checkpointPath),
                "The name comes from the checkpoint's file name.", remedy: CxasRemedy.NameNewModel);
        }

        /// <summary>The default name of a checkpoint file (reads only its tensor shapes).</summary>
        public static string DefaultName(string checkpointPath)
        {
            using var checkpoint = TorchCheckpoint.Open(checkpointPath);
            return DefaultName(checkpointPath, UNetResNetSpec.Infer(checkpoint));
        }

        private static void VerifyLoads(string onnx, UNetResNetSpec spec, ImportOptions options)
        {
            try
            {
                using var sessionOptions = new Microsoft.ML.OnnxRuntime.SessionOptions
                {
                    GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL,
                };
                using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx, sessionOptions);
                var output = session.OutputMetadata[UNetResNetOnnxBuilder.OutputName].Dimensions;
                if (output.Length != 4 || output[1] != spec.Classes || output[2] != options.InputHeight || output[3] != options.InputWidth)
                    throw new CxasException(CxasErrorKind.InvalidModel, $"The imported model's output has shape [{string.Join(",", output)}].", onnx);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException ex)
            {
                throw new CxasException(CxasErrorKind.InvalidModel, $"ONNX Runtime cannot load the imported model: {ex.Message.Trim()}", onnx, ex);
            }
        }

        /// <summary>SHA-256 of a file as lowercase hex.</summary>
        public static string Sha256(string path, Action<int>? percent = null)
        {
            using var sha = SHA256.Create();
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            var buffer = new byte[1 << 20];
            long total = Math.Max(1, stream.Length), done = 0;
            int lastPercent = -1;
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                sha.TransformBlock(buffer, 0, n, null, 0);
                done += n;
                int p = (int)(done * 100 / total);
                if (p != lastPercent) { lastPercent = p; percent?.Invoke(p); }
            }
            sha.TransformFinalBlock(buffer, 0, 0);
            return string.Concat(sha.Hash!.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        }
    }
}
