using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cxas.Models
{
    /// <summary>How the model wants its input tensor.</summary>
    public sealed class ModelInputSpec
    {
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("width")] public int Width { get; set; } = 512;
        [JsonPropertyName("height")] public int Height { get; set; } = 512;
        [JsonPropertyName("mean")] public float[] Mean { get; set; } = { 0.485f, 0.456f, 0.406f };
        [JsonPropertyName("std")] public float[] Std { get; set; } = { 0.229f, 0.224f, 0.225f };
        /// <summary>Resize rule from the image to the input size; only "nearest" (the reference's) is defined.</summary>
        [JsonPropertyName("resize")] public string Resize { get; set; } = "nearest";
    }

    public sealed class ModelOutputSpec
    {
        [JsonPropertyName("name")] public string? Name { get; set; }
        /// <summary>"sigmoid": outputs are logits of independent per-class probabilities.</summary>
        [JsonPropertyName("activation")] public string Activation { get; set; } = "sigmoid";
    }

    /// <summary>The contents of <c>model.json</c> beside <c>model.onnx</c>.</summary>
    public sealed class ModelManifest
    {
        public const string CurrentFormat = "cxas-model/1";

        [JsonPropertyName("format")] public string Format { get; set; } = CurrentFormat;
        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("version")] public string Version { get; set; } = "0";
        [JsonPropertyName("description")] public string? Description { get; set; }
        [JsonPropertyName("architecture")] public string? Architecture { get; set; }
        [JsonPropertyName("input")] public ModelInputSpec Input { get; set; } = new ModelInputSpec();
        [JsonPropertyName("output")] public ModelOutputSpec Output { get; set; } = new ModelOutputSpec();
        /// <summary>Probability threshold: a class is present where sigmoid(logit) &gt; threshold.</summary>
        [JsonPropertyName("threshold")] public double Threshold { get; set; } = 0.5;
        /// <summary>Class names in output-channel order.</summary>
        [JsonPropertyName("labels")] public string[] Labels { get; set; } = Array.Empty<string>();
        [JsonPropertyName("licence")] public string? Licence { get; set; }
        [JsonPropertyName("provenance")] public Dictionary<string, string>? Provenance { get; set; }
        /// <summary>Numeric precision of model.onnx: "fp32" (also when absent), "int8" or "fp16".</summary>
        [JsonPropertyName("precision")] public string? Precision { get; set; }
        /// <summary>True for models that exist to test the module, not to segment anatomy.</summary>
        [JsonPropertyName("testOnly")] public bool TestOnly { get; set; }

        private static readonly JsonSerializerOptions Options = new JsonSerializerOptions
        {
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        };

        public static ModelManifest Load(string path)
        {
            ModelManifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), Options);
            }
            catch (JsonException ex)
            {
                throw new CxasException(CxasErrorKind.InvalidModel, $"Model manifest '{path}' is not valid JSON: {ex.Message}", path, ex);
            }
            if (manifest == null)
                throw new CxasException(CxasErrorKind.InvalidModel, $"Model manifest '{path}' is empty.", path);
            manifest.Validate(path);
            return manifest;
        }

        public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Options));

        /// <summary>The logit above which a class counts as present (logit of <see cref="Threshold"/>).</summary>
        [JsonIgnore]
        public float LogitThreshold => (float)Math.Log(Threshold / (1 - Threshold));

        public void Validate(string path)
        {
            void Fail(string why) => throw new CxasException(CxasErrorKind.InvalidModel, $"Model manifest '{path}': {why}", path);
            if (Format != CurrentFormat) Fail($"format '{Format}' is not '{CurrentFormat}'.");
            if (string.IsNullOrWhiteSpace(Name)) Fail("'name' is missing.");
            if (Labels == null || Labels.Length == 0) Fail("'labels' is missing or empty.");
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var label in Labels!)
            {
                if (string.IsNullOrWhiteSpace(label)) Fail("a label is empty.");
                if (!seen.Add(label)) Fail($"label '{label}' appears twice.");
                if (label.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || label.IndexOfAny(new[] { '/', '\\', ':' }) >= 0)
                    Fail($"label '{label}' cannot be used as a file name.");
            }
            if (Input == null) Fail("'input' is missing.");
            if (Input!.Width < 8 || Input.Height < 8 || Input.Width > 8192 || Input.Height > 8192)
                Fail($"input size {Input.Width}x{Input.Height} is out of range (8..8192).");
            if (Input.Mean == null || Input.Mean.Length != 3 || Input.Std == null || Input.Std.Length != 3)
                Fail("'input.mean' and 'input.std' need three values (R, G, B).");
            foreach (var s in Input.Std!) if (!(s > 0)) Fail("'input.std' values must be positive.");
            if (!string.Equals(Input.Resize, "nearest", StringComparison.OrdinalIgnoreCase))
                Fail($"input resize '{Input.Resize}' is not supported (only 'nearest').");
            if (Output == null || !string.Equals(Output.Activation, "sigmoid", StringComparison.OrdinalIgnoreCase))
                Fail("only 'sigmoid' outputs are supported.");
            if (Precision != null && Precision != "fp32" && Precision != "int8" && Precision != "fp16")
                Fail($"precision '{Precision}' is not fp32, int8 or fp16.");
            if (!(Threshold > 0 && Threshold < 1)) Fail($"threshold {Threshold} must lie strictly between 0 and 1.");
        }
    }
}
