using System;
using System.Collections.Generic;
using System.Linq;
using Cxas.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Cxas.Precision
{
    // Calibration: the float model with the tensors to measure exposed as extra graph outputs, run over prepared
    // input tensors ([1,3,H,W], the pipeline's own preprocessing); each tensor's range is the min and max over every
    // value of every calibration image. Tensors are fetched in groups whose total size stays under a memory budget
    // (the sizes are learnt from the first image, fetched in small groups), so a large network is measured in a few
    // passes instead of holding all its activations at once.

    /// <summary>Measures activation ranges of a float model; see the note at the top of the file.</summary>
    internal sealed class ActivationCalibrator : IDisposable
    {
        private const int FirstImageGroup = 8;
        private readonly InferenceSession _session;
        private readonly string _inputName;
        private readonly string[] _tensors;
        private readonly Dictionary<string, (float Min, float Max)> _ranges = new Dictionary<string, (float, float)>(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _bytes = new Dictionary<string, long>(StringComparer.Ordinal);

        /// <param name="model">The float model; it is left as it was.</param>
        /// <param name="tensors">Tensors whose ranges to measure.</param>
        /// <param name="budgetBytes">Most bytes of exposed tensors fetched in one pass.</param>
        /// <param name="percentile">
        /// 100: each image's range is its min and max. Below 100: the image's range is the (100 - p) and p percentiles
        /// of an evenly strided sample of at most 65536 of its values, so a few outlying pixels do not stretch the scale.
        /// </param>
        /// <param name="averageImages">Ranges are the mean of the images' ranges instead of their union.</param>
        public ActivationCalibrator(OnnxModel model, IEnumerable<string> tensors, long budgetBytes = 256L << 20, double percentile = 100,
            bool averageImages = false)
        {
            Percentile = percentile;
            AverageImages = averageImages;
            _tensors = tensors.Distinct().ToArray();
            BudgetBytes = budgetBytes;
            int before = model.Outputs.Count;
            var existing = new HashSet<string>(model.Outputs.Select(o => o.Name), StringComparer.Ordinal);
            model.Outputs.AddRange(_tensors.Where(t => !existing.Contains(t)).Select(t => OnnxValue.Tensor(t, OnnxType.Float)));
            byte[] bytes;
            try { bytes = model.ToBytes(); }
            finally { model.Outputs.RemoveRange(before, model.Outputs.Count - before); }
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            options.IntraOpNumThreads = Math.Max(1, Environment.ProcessorCount);
            try
            {
                _session = new InferenceSession(bytes, options);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new CxasException(CxasErrorKind.InvalidModel, $"ONNX Runtime cannot load '{model.Source}' for calibration: {ex.Message.Trim()}", model.Source, ex);
            }
            _inputName = model.Inputs[0].Name;
        }

        public long BudgetBytes { get; }
        public double Percentile { get; }
        public bool AverageImages { get; }
        private readonly Dictionary<string, (double Min, double Max, int Count)> _rangeSums = new Dictionary<string, (double, double, int)>(StringComparer.Ordinal);
        private const int SampleSize = 65536;
        private float[]? _sample;
        public int Images { get; private set; }
        public int Passes { get; private set; }

        public IReadOnlyDictionary<string, (float Min, float Max)> Ranges => !AverageImages ? _ranges
            : _rangeSums.ToDictionary(p => p.Key, p => ((float)(p.Value.Min / p.Value.Count), (float)(p.Value.Max / p.Value.Count)), StringComparer.Ordinal);

        private readonly Dictionary<string, long[]> _shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);

        /// <summary>Shape of every measured tensor on the last image.</summary>
        public IReadOnlyDictionary<string, long[]> Shapes => _shapes;

        private readonly Dictionary<string, double[]> _channelSums = new Dictionary<string, double[]>(StringComparer.Ordinal);

        /// <summary>Mean of each channel (axis 1) of every measured tensor, averaged over the images.</summary>
        public IReadOnlyDictionary<string, float[]> ChannelMeans =>
            _channelSums.ToDictionary(p => p.Key, p => p.Value.Select(v => (float)(v / Math.Max(1, Images))).ToArray(), StringComparer.Ordinal);

        /// <summary>Adds one prepared input tensor [1,3,height,width] to the ranges.</summary>
        public void Add(float[] input, int height, int width)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(input, new long[] { 1, 3, height, width });
            foreach (var group in Groups())
            {
                using var runOptions = new RunOptions();
                using var results = _session.Run(runOptions, new[] { _inputName }, new[] { value }, group);
                Passes++;
                for (int i = 0; i < group.Length; i++)
                {
                    var span = results[i].GetTensorDataAsSpan<float>();
                    _bytes[group[i]] = span.Length * 4L;
                    var shape = results[i].GetTensorTypeAndShape().Shape;
                    _shapes[group[i]] = shape;
                    if (shape.Length >= 2 && shape[0] == 1 && shape[1] > 0)
                    {
                        int channels = (int)shape[1], per = span.Length / channels;
                        if (!_channelSums.TryGetValue(group[i], out var sums)) _channelSums[group[i]] = sums = new double[channels];
                        for (int c = 0; c < channels && sums.Length == channels; c++)
                        {
                            double total = 0;
                            foreach (var v in span.Slice(c * per, per)) total += v;
                            sums[c] += total / per;
                        }
                    }
                    float min = float.PositiveInfinity, max = float.NegativeInfinity;
                    foreach (var v in span)
                    {
                        if (v < min) min = v;
                        if (v > max) max = v;
                    }
                    if (Percentile < 100 && span.Length > 1 && !float.IsNaN(min) && !float.IsNaN(max))
                    {
                        int stride = Math.Max(1, span.Length / SampleSize);
                        int n = (span.Length + stride - 1) / stride;
                        _sample ??= new float[SampleSize + 1];
                        if (_sample.Length < n) _sample = new float[n];
                        for (int k = 0; k < n; k++) _sample[k] = span[k * stride];
                        Array.Sort(_sample, 0, n);
                        double q = Percentile / 100.0;
                        min = _sample[(int)Math.Floor((1 - q) * (n - 1))];
                        max = _sample[(int)Math.Ceiling(q * (n - 1))];
                    }
                    if (float.IsNaN(min) || float.IsNaN(max) || float.IsInfinity(min) || float.IsInfinity(max))
                        throw new CxasException(CxasErrorKind.InvalidModel, $"Tensor '{group[i]}' has non-finite values on a calibration image.");
                    _ranges[group[i]] = _ranges.TryGetValue(group[i], out var r) ? (Math.Min(r.Min, min), Math.Max(r.Max, max)) : (min, max);
                    _rangeSums[group[i]] = _rangeSums.TryGetValue(group[i], out var sum) ? (sum.Min + min, sum.Max + max, sum.Count + 1) : (min, max, 1);
                }
            }
            Images++;
        }

        private IEnumerable<string[]> Groups()
        {
            if (_bytes.Count < _tensors.Length)
            {
                for (int i = 0; i < _tensors.Length; i += FirstImageGroup)
                    yield return _tensors.Skip(i).Take(FirstImageGroup).ToArray();
                yield break;
            }
            var group = new List<string>();
            long size = 0;
            foreach (var t in _tensors)
            {
                if (group.Count > 0 && size + _bytes[t] > BudgetBytes)
                {
                    yield return group.ToArray();
                    group.Clear();
                    size = 0;
                }
                group.Add(t);
                size += _bytes[t];
            }
            if (group.Count > 0) yield return group.ToArray();
        }

        public void Dispose() => _session.Dispose();
    }
}
