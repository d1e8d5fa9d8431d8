using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Cxas.Models;
using Microsoft.ML.OnnxRuntime;
using Cxas.Inference;

namespace Cxas.Precision
{
    // Agreement of a reduced-precision model with its float original, measured as the pipeline uses them: each image
    // nearest-resized and normalised to the model grid, both models run, each logit thresholded at the manifest's
    // cut; per class the counts of grid pixels where the two masks agree, where both are set, and where each is set.
    // From those: pixel agreement (agreeing / all) and Dice between the two masks (2|A and B| / (|A| + |B|), 1 when
    // both are empty). The bound a variant must meet: pixel agreement over all classes and pixels at least
    // MinPixelAgreement (the "pixel agreement at least 99.5 %"); the lowest class is reported beside it. The other
    // bound, per-class Dice change against expert masks, needs ground truth and is measured by bench/Cxas.Bench.Precision.

    /// <summary>Figures of one class. Read-only: counted in <see cref="MaskAgreement"/>'s tallies, then copied here whole.</summary>
    public sealed class ClassAgreement
    {
        public string Label { get; internal init; } = "";
        public long Pixels { get; internal init; }
        public long Agreeing { get; internal init; }
        public long Both { get; internal init; }
        public long Reference { get; internal init; }
        public long Variant { get; internal init; }
        public double PixelAgreement => Pixels == 0 ? 1 : (double)Agreeing / Pixels;
        public double Dice => Reference + Variant == 0 ? 1 : 2.0 * Both / (Reference + Variant);
    }

    /// <summary>Agreement of a variant with the float model over a set of images. Read-only, built whole.</summary>
    public sealed class AgreementReport
    {
        public string Precision { get; internal init; } = "";
        public int Images { get; internal init; }
        public double MinPixelAgreement { get; internal init; }
        public IReadOnlyList<ClassAgreement> Classes { get; internal init; } = Array.Empty<ClassAgreement>();
        /// <summary>Why agreement was not measured (null when it was).</summary>
        public string? NotChecked { get; internal init; }
        /// <summary>Where the variant ran for the check ("CPU" or "CUDA").</summary>
        public string Device { get; internal init; } = "CPU";
        public double PixelAgreement => Classes.Count == 0 ? 1 : (double)Classes.Sum(c => c.Agreeing) / Math.Max(1, Classes.Sum(c => c.Pixels));
        public ClassAgreement? Worst => Classes.OrderBy(c => c.PixelAgreement).FirstOrDefault();
        public bool Passed => NotChecked == null && PixelAgreement >= MinPixelAgreement;

        /// <summary>One line: overall agreement, the worst class, the lowest Dice.</summary>
        public string Summary()
        {
            if (NotChecked != null) return $"{Precision}: agreement not checked ({NotChecked})";
            var inv = CultureInfo.InvariantCulture;
            var worst = Worst;
            var lowDice = Classes.OrderBy(c => c.Dice).FirstOrDefault();
            return string.Format(inv, "{0} ({8}) vs fp32 over {1} images: pixel agreement {2:P3} (bound {3:P1}), lowest class {4} {5:P3}, lowest Dice {6} {7:F4}",
                Precision, Images, PixelAgreement, MinPixelAgreement, worst?.Label, worst?.PixelAgreement, lowDice?.Label, lowDice?.Dice, Device);
        }

        /// <summary>Every class's figures, one per line.</summary>
        public string Table() => string.Join(Environment.NewLine, Classes.Select(c => string.Format(CultureInfo.InvariantCulture,
            "  {0,-32} agreement {1:P3}  Dice {2:F4}  fp32 px {3}  {4} px {5}", c.Label, c.PixelAgreement, c.Dice, c.Reference, Precision, c.Variant)));
    }

    /// <summary>Raised when a converted model misses its agreement bound; carries the figures.</summary>
    public sealed class PrecisionRefusedException : CxasException
    {
        public PrecisionRefusedException(AgreementReport report, string path)
            : base(CxasErrorKind.InvalidModel, $"The {report.Precision} model was refused: it misses the agreement bound. {report.Summary()}{Environment.NewLine}{report.Table()}", path)
        {
            Report = report;
        }

        public AgreementReport Report { get; }
    }

    /// <summary>Runs a float model and a variant side by side and counts mask agreement; see the file's note.</summary>
    internal sealed class MaskAgreement : IDisposable
    {
        private readonly InferenceSession _reference, _variant;
        private readonly ModelManifest _manifest;
        private readonly Tally[] _classes;

        /// <summary>One class's running counts while images are added.</summary>
        private sealed class Tally
        {
            public Tally(string label) => Label = label;
            public string Label { get; }
            public long Pixels, Agreeing, Both, Reference, Variant;
        }
        private readonly float[] _input;
        private int _images;

        public MaskAgreement(string referenceOnnx, string variantOnnx, ModelManifest manifest, SessionOptions? variantOptions = null)
        {
            _manifest = manifest;
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            options.IntraOpNumThreads = Math.Max(1, Environment.ProcessorCount);
            _reference = Open(referenceOnnx, options);
            try { _variant = Open(variantOnnx, variantOptions ?? options); }
            catch { _reference.Dispose(); throw; }
            _classes = manifest.Labels.Select(l => new Tally(l)).ToArray();
            _input = new float[3 * manifest.Input.Width * manifest.Input.Height];
        }

        private static InferenceSession Open(string path, SessionOptions options)
        {
            try { return new InferenceSession(path, options); }
            catch (OnnxRuntimeException ex)
            {
                throw new CxasException(CxasErrorKind.InvalidModel, $"ONNX Runtime cannot load '{path}': {ex.Message.Trim()}", path, ex);
            }
        }

        /// <summary>Adds one image's masks; returns both models' masks (class-major booleans) when asked.</summary>
        public void Add(Imaging.SourceImage image) => Add(image, null);

        /// <param name="image">A decoded radiograph, run through both models.</param>
        /// <param name="masks">Receives (reference mask, variant mask) of each class, on the model grid, when given.</param>
        public void Add(Imaging.SourceImage image, Action<int, bool[], bool[]>? masks)
        {
            int w = _manifest.Input.Width, h = _manifest.Input.Height, plane = w * h;
            ModelInput.Fill(image.Raster, w, h, _manifest.Input.Mean, _manifest.Input.Std, _input);
            var a = Logits(_reference, _input, h, w);
            var b = Logits(_variant, _input, h, w);
            float cut = _manifest.LogitThreshold;
            var ma = new bool[plane];
            var mb = new bool[plane];
            for (int c = 0; c < _classes.Length; c++)
            {
                var k = _classes[c];
                for (int i = 0; i < plane; i++)
                {
                    bool x = a[c * plane + i] > cut, y = b[c * plane + i] > cut;
                    ma[i] = x; mb[i] = y;
                    if (x == y) k.Agreeing++;
                    if (x && y) k.Both++;
                    if (x) k.Reference++;
                    if (y) k.Variant++;
                }
                k.Pixels += plane;
                masks?.Invoke(c, ma, mb);
            }
            _images++;
        }

        private float[] Logits(InferenceSession session, float[] input, int h, int w)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(input, new long[] { 1, 3, h, w });
            using var runOptions = new RunOptions();
            var outputName = _manifest.Output.Name ?? session.OutputMetadata.Keys.First();
            using var results = session.Run(runOptions, new[] { session.InputMetadata.Keys.First() }, new[] { value }, new[] { outputName });
            var span = results[0].GetTensorDataAsSpan<float>();
            if (span.Length != _classes.Length * h * w)
                throw new CxasException(CxasErrorKind.InvalidModel, $"A model produced {span.Length} logits; {_classes.Length}x{h}x{w} were expected.");
            return span.ToArray();
        }

        public AgreementReport Report(string precision, double minPixelAgreement, string device = "CPU") => new AgreementReport
        {
            Precision = precision,
            Device = device,
            Images = _images,
            MinPixelAgreement = minPixelAgreement,
            Classes = _classes.Select(c => new ClassAgreement
            {
                Label = c.Label, Pixels = c.Pixels, Agreeing = c.Agreeing, Both = c.Both, Reference = c.Reference, Variant = c.Variant,
            }).ToArray(),
        };

        public void Dispose()
        {
            _reference.Dispose();
            _variant.Dispose();
        }
    }
}
