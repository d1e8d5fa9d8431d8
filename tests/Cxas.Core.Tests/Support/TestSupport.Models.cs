using Cxas.Models;
using Cxas.Segmentation;
using Microsoft.ML.OnnxRuntime;

namespace Cxas.Core.Tests
{
    /// <summary>Model fixtures and the figures that compare Cxas' outputs with PyTorch's.</summary>
    internal static partial class TestSupport
    {
        /// <summary>A closed-form model of <paramref name="classes"/> classes ("class 0", ...) with a square input, in a new folder under <paramref name="dir"/>.</summary>
        public static string WriteClosedFormModel(string dir, int classes, int inputSize)
        {
            var labels = Enumerable.Range(0, classes).Select(i => "class " + i).ToArray();
            var path = Path.Combine(dir, $"model-{classes}-{inputSize}");
            ClosedFormModel.Write(path, "closed-form-test", labels, inputSize, "test");
            return path;
        }

        /// <summary>Runs an ONNX model on one input and returns its first output's values.</summary>
        public static float[] RunOnnx(byte[] onnx, NpyArray input) => RunOnnx(new InferenceSession(onnx), input.Data, input.Shape);

        /// <summary>As above, the input given as its values and shape.</summary>
        public static float[] RunOnnx(byte[] onnx, float[] input, long[] shape) => RunOnnx(new InferenceSession(onnx), input, shape);

        public static float[] RunOnnx(string onnxPath, NpyArray input)
        {
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            return RunOnnx(new InferenceSession(onnxPath, options), input.Data, input.Shape);
        }

        private static float[] RunOnnx(InferenceSession session, float[] input, long[] shape)
        {
            using (session)
            {
                using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
                using var runOptions = new RunOptions();
                var inputName = session.InputMetadata.Keys.First();
                var outputName = session.OutputMetadata.Keys.First();
                using var results = session.Run(runOptions, new[] { inputName }, new[] { value }, new[] { outputName });
                return results[0].GetTensorDataAsSpan<float>().ToArray();
            }
        }

        /// <summary>
        /// Every full-resolution mask pixel of a result against PyTorch's masks (a bool [classes, H, W] .npy): the
        /// fraction that agree, how many differ, and the total. The array's shape must be the result's.
        /// </summary>
        public static (double Agreement, long Differ, long Total) CompareMasks(SegmentationResult result, string npyPath)
        {
            var (shape, bits) = Npy.ReadBool(npyPath);
            var expectedShape = new long[] { result.Masks.Count, result.Height, result.Width };
            if (!shape.SequenceEqual(expectedShape))
                throw new InvalidDataException($"{npyPath} has shape [{string.Join(",", shape)}], the result [{string.Join(",", expectedShape)}]");
            long differ = 0;
            for (int c = 0; c < result.Masks.Count; c++)
            {
                var mask = result.Masks.GetMask(c);
                long o = (long)c * result.Height * result.Width;
                for (int y = 0; y < result.Height; y++)
                    for (int x = 0; x < result.Width; x++)
                        if (mask[x, y] != (bits[o + (long)y * result.Width + x] != 0)) differ++;
            }
            return (1 - (double)differ / bits.LongLength, differ, bits.LongLength);
        }

        /// <summary>Parity figures between logits and reference logits.</summary>
        public static (double MaxAbsDiff, double Range, double RelativeDiff, double MaskAgreement, long Disagreeing) Compare(float[] actual, float[] expected)
        {
            if (actual.Length != expected.Length) throw new ArgumentException($"{actual.Length} values vs {expected.Length} expected");
            double maxDiff = 0, min = double.MaxValue, max = double.MinValue;
            long disagree = 0;
            for (int i = 0; i < actual.Length; i++)
            {
                double d = Math.Abs((double)actual[i] - expected[i]);
                if (!(d <= maxDiff)) maxDiff = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(maxDiff, d);
                min = Math.Min(min, expected[i]);
                max = Math.Max(max, expected[i]);
                if ((actual[i] > 0) != (expected[i] > 0)) disagree++;
            }
            double range = max - min;
            return (maxDiff, range, maxDiff / range, 1.0 - (double)disagree / actual.Length, disagree);
        }
    }
}
