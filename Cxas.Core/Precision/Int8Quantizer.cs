using System;
using System.Collections.Generic;
using System.Linq;
using Cxas.Models;
using Cxas.Onnx;

namespace Cxas.Precision
{
    // Static int8 quantization of a float ONNX model in QDQ form, the form ONNX Runtime fuses into integer kernels
    // (QLinearConv, QLinearAdd, ...) when it loads the model:
    //   1. Plan: which float activation tensors get a QuantizeLinear/DequantizeLinear pair. Every activation input and
    //      output of a Conv, Add, Relu, MaxPool, Resize or Concat does, except
    //        - the output of a Conv or Add whose only consumer is a Relu (the Relu's output is quantized instead, with
    //          zero point 0, so ONNX Runtime drops the Relu and fuses Conv/Add with it);
    //        - the head: the last Conv before the graph output (through Resize/Sigmoid/Identity) stays float, so the
    //          logits the threshold is applied to keep full precision;
    //        - the first Conv (Int8Options.FloatFirstConvolutions) and the Relu after it stay float, so the image is
    //          not rounded to 256 levels of one range shared by its normalised channels; the Relu's output is the first
    //          quantized tensor;
    //        - graph outputs.
    //      MaxPool and Resize outputs share their input's parameters (they only pick or average input values), which
    //      lets ONNX Runtime run them on the uint8 values directly.
    //   2. Calibration ranges per planned tensor come from running the float model (ActivationCalibrator): by default
    //      each image's 0.01 and 99.99 percentiles, widened over the images.
    //   3. Rewrite: activations uint8, asymmetric: scale = (max - min) / 255 over a range widened to include 0,
    //      zero point round(-min / scale). Conv weights symmetric per output channel, scale_c = max|w_c| / L, values
    //      round(w / scale_c) in [-L, L], L by the scheme (Int8Scheme): U8S7 int8 with L = 64 (default), U8S8 int8 with
    //      L = 127, U8U8 uint8 with L = 127 stored as value + 128 (zero point 128). Conv biases int32 with scale
    //      s_x * scale_c (s_x the input's scale) and zero point 0, as ONNX Runtime's integer convolution expects.

    /// <summary>Which tensors an int8 rewrite quantizes; see the pipeline note at the top of the file.</summary>
    internal sealed class QuantizationPlan
    {
        internal QuantizationPlan(List<string> activations, Dictionary<string, string> sharedWith, List<OnnxNode> weightConvs, HashSet<OnnxNode> floatConvolutions)
        {
            Activations = activations; SharedWith = sharedWith; WeightConvs = weightConvs; FloatConvolutions = floatConvolutions;
        }

        /// <summary>Activation tensors that get a Q/DQ pair, in graph order.</summary>
        public IReadOnlyList<string> Activations { get; }
        /// <summary>Tensor -> the tensor whose parameters it takes (MaxPool and Resize outputs).</summary>
        public IReadOnlyDictionary<string, string> SharedWith { get; }
        /// <summary>Tensors whose ranges calibration must measure (and the quantized convolutions' inputs, for their channel means).</summary>
        public IEnumerable<string> Calibrated => Activations.Where(a => !SharedWith.ContainsKey(a))
            .Concat(WeightConvs.Select(n => n.Input(0)).Where(t => !Activations.Contains(t) || SharedWith.ContainsKey(t))).Distinct();
        internal List<OnnxNode> WeightConvs { get; }
        /// <summary>Convolutions left float: the head and those <see cref="Int8Options"/> keeps float (by default the first).</summary>
        internal HashSet<OnnxNode> FloatConvolutions { get; }
    }

    /// <summary>Parameters of one uint8 activation: real = scale * (q - zeroPoint).</summary>
    internal readonly struct ActivationQuantization
    {
        public ActivationQuantization(float scale, byte zeroPoint) { Scale = scale; ZeroPoint = zeroPoint; }
        public float Scale { get; }
        public byte ZeroPoint { get; }

        /// <summary>Parameters covering [min, max] widened to include 0.</summary>
        public static ActivationQuantization FromRange(float min, float max)
        {
            double lo = Math.Min(0, min), hi = Math.Max(0, max);
            if (!(hi > lo)) return new ActivationQuantization(1f, 0);
            float scale = (float)((hi - lo) / 255.0);
            double zp = Math.Round(-lo / scale, MidpointRounding.ToEven);
            return new ActivationQuantization(scale, (byte)Math.Max(0, Math.Min(255, zp)));
        }
    }

    /// <summary>Parts of the network an int8 rewrite leaves float, beyond the head, and the weight scheme.</summary>
    public sealed class Int8Options
    {
        /// <summary>How weights are stored; see <see cref="Int8Scheme"/>.</summary>
        public Int8Scheme Scheme { get; set; } = Int8Scheme.U8S7;
        /// <summary>
        /// Convolutions (in graph order) at the start that stay float, with their input and the Relu after them.
        /// Default 1: the first convolution reads the normalised image itself, and keeping it float (at most 6.5% of the
        /// default model's arithmetic) raised the default model's pixel agreement from 99.69% to 99.83% and its
        /// weakest class from 98.8% to 99.3% (docs/benchmarks.md, Int8 and fp16). 0 quantizes the model input too.
        /// </summary>
        public int FloatFirstConvolutions { get; set; } = 1;
        /// <summary>Convolutions before the head (in graph order) that stay float.</summary>
        public int FloatLastConvolutions { get; set; }
        /// <summary>
        /// Bias correction: each quantized convolution's bias absorbs the mean shift its rounded weights cause,
        /// -sum over inputs and taps of (dequantized w - w) * mean of the input channel (from calibration). On by default:
        /// with 8-bit weights it changed no figure of the default model's agreement, but with the 7-bit weights of U8S7 it
        /// recovers most of their loss (validation split: pixel agreement 99.754 % -> 99.800 %, largest Dice change
        /// 0.0053 -> 0.0036; 8-bit weights: 99.808 %, 0.0018; docs/benchmarks.md, Int8 and fp16).
        /// </summary>
        public bool BiasCorrection { get; set; } = true;
        /// <summary>
        /// Convolutions whose output has fewer than this many pixels per channel (height x width) stay float: the deep,
        /// low-resolution layers, which carry the context large structures depend on and cost little arithmetic.
        /// PrecisionConverter measures the sizes on the first calibration image.
        /// </summary>
        public int FloatBelowPixels { get; set; }
        /// <summary>Convolutions (by output tensor name) that stay float.</summary>
        public ISet<string> FloatConvolutionOutputs { get; set; } = new HashSet<string>(StringComparer.Ordinal);
    }

    internal static class Int8Quantizer
    {
        private static readonly HashSet<string> FloatOps = new HashSet<string>(StringComparer.Ordinal)
        {
            "Conv", "Relu", "Add", "Sub", "Mul", "Div", "MaxPool", "AveragePool", "GlobalAveragePool", "Resize", "Upsample",
            "Concat", "Sigmoid", "Clip", "BatchNormalization", "Identity", "Pad", "Reshape", "Flatten", "Transpose", "Gemm",
            "MatMul", "LeakyRelu", "Slice", "Squeeze", "Unsqueeze",
        };

        private static readonly HashSet<string> HeadChainOps = new HashSet<string>(StringComparer.Ordinal) { "Resize", "Upsample", "Sigmoid", "Identity" };

        /// <summary>The activation inputs of a quantized op (the other inputs are weights, sizes or scales).</summary>
        private static IEnumerable<int> ActivationInputs(OnnxNode n) => n.OpType switch
        {
            "Add" => new[] { 0, 1 },
            "Concat" => Enumerable.Range(0, n.Inputs.Count),
            "Conv" or "Relu" or "MaxPool" or "Resize" => new[] { 0 },
            _ => Array.Empty<int>(),
        };

        public static QuantizationPlan Plan(OnnxModel model, Int8Options? options = null)
        {
            options ??= new Int8Options();
            if (model.Opset < 13)
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"'{model.Source}' uses opset {model.Opset}; int8 conversion needs opset 13 or later (per-channel QuantizeLinear).", model.Source);
            var initializers = new HashSet<string>(model.Initializers.Select(t => t.Name), StringComparer.Ordinal);
            var floats = new HashSet<string>(model.Inputs.Where(i => i.ElementType == OnnxType.Float).Select(i => i.Name), StringComparer.Ordinal);
            foreach (var t in model.Initializers) if (t.DataType == OnnxType.Float) floats.Add(t.Name);
            var producer = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
            var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
            foreach (var n in model.Nodes)
            {
                foreach (var o in n.Outputs) producer[o] = n;
                foreach (var i in n.Inputs.Where(i => i.Length > 0))
                {
                    if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = new List<OnnxNode>();
                    if (!list.Contains(n)) list.Add(n);
                }
                if (FloatOps.Contains(n.OpType) && floats.Contains(n.Input(0))) floats.Add(n.Outputs[0]);
            }

            // The head: back from each output through resize-like ops to the convolution that makes the logits. It is
            // the first of the convolutions that stay float; the options add the others.
            var excluded = new HashSet<string>(model.Outputs.Select(o => o.Name), StringComparer.Ordinal);
            var floatConvs = new HashSet<OnnxNode>();
            foreach (var output in model.Outputs)
            {
                var t = output.Name;
                while (producer.TryGetValue(t, out var p))
                {
                    excluded.Add(t);
                    if (p.OpType == "Conv") { floatConvs.Add(p); break; }
                    if (!HeadChainOps.Contains(p.OpType)) break;
                    t = p.Input(0);
                }
            }

            var convs = model.Nodes.Where(n => n.OpType == "Conv" && !floatConvs.Contains(n)).ToList();
            foreach (var n in convs.Where(n => options.FloatConvolutionOutputs.Contains(n.Outputs[0]))) floatConvs.Add(n);
            foreach (var n in convs.Take(options.FloatFirstConvolutions)) floatConvs.Add(n);
            foreach (var n in convs.Skip(Math.Max(0, convs.Count - options.FloatLastConvolutions))) floatConvs.Add(n);
            bool IsActivation(string t) => t.Length > 0 && floats.Contains(t) && !initializers.Contains(t) && !excluded.Contains(t);
            // A Relu right after a float convolution stays float as well: quantizing its input would spend half the
            // uint8 range on negative values the Relu discards; its output is quantized for its consumers instead.
            bool FloatRelu(OnnxNode n) => n.OpType == "Relu" && producer.TryGetValue(n.Input(0), out var p) && floatConvs.Contains(p);
            var quantized = model.Nodes.Where(n => !floatConvs.Contains(n) && !FloatRelu(n) && n.Domain.Length == 0 && ActivationInputs(n).Any()
                                                   && ActivationInputs(n).All(i => IsActivation(n.Input(i)))).ToList();
            var chosen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var n in quantized)
            {
                foreach (var i in ActivationInputs(n)) chosen.Add(n.Input(i));
                if (IsActivation(n.Outputs[0])) chosen.Add(n.Outputs[0]);
            }
            var quantizedSet = new HashSet<OnnxNode>(quantized);
            chosen.RemoveWhere(t => producer.TryGetValue(t, out var p) && (p.OpType == "Conv" || p.OpType == "Add") && quantizedSet.Contains(p)
                                    && consumers.TryGetValue(t, out var c) && c.Count == 1 && c[0].OpType == "Relu" && quantizedSet.Contains(c[0])
                                    && !excluded.Contains(c[0].Outputs[0]));

            // Graph order: inputs first, then each node's outputs.
            var ordered = model.Inputs.Select(i => i.Name).Where(chosen.Contains).ToList();
            foreach (var n in model.Nodes) ordered.AddRange(n.Outputs.Where(chosen.Contains));
            var shared = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var n in quantized)
                if ((n.OpType == "MaxPool" || n.OpType == "Resize") && chosen.Contains(n.Outputs[0]) && chosen.Contains(n.Input(0)))
                    shared[n.Outputs[0]] = shared.TryGetValue(n.Input(0), out var root) ? root : n.Input(0);
            var weightConvs = quantized.Where(n => n.OpType == "Conv" && initializers.Contains(n.Input(1))
                                                   && model.Initializer(n.Input(1))!.DataType == OnnxType.Float
                                                   && model.Initializer(n.Input(1))!.Dims.Length >= 3).ToList();
            return new QuantizationPlan(ordered, shared, weightConvs, floatConvs);
        }

        /// <summary>The largest weight magnitude a scheme stores: 64 for U8S7, 127 otherwise.</summary>
        public static int WeightLimit(Int8Scheme scheme) => scheme == Int8Scheme.U8S7 ? 64 : 127;

        /// <summary>Per-output-channel symmetric weights within +-limit: scales max|w_c|/limit (1 for an all-zero channel).</summary>
        public static (sbyte[] Values, float[] Scales) QuantizeWeights(float[] weights, int channels, int limit = 127)
        {
            int per = weights.Length / channels;
            var values = new sbyte[weights.Length];
            var scales = new float[channels];
            for (int c = 0; c < channels; c++)
            {
                float max = 0;
                for (int i = c * per; i < (c + 1) * per; i++) max = Math.Max(max, Math.Abs(weights[i]));
                float scale = max > 0 ? max / limit : 1f;
                scales[c] = scale;
                for (int i = c * per; i < (c + 1) * per; i++)
                    values[i] = (sbyte)Math.Max(-limit, Math.Min(limit, Math.Round(weights[i] / scale, MidpointRounding.ToEven)));
            }
            return (values, scales);
        }

        /// <summary>
        /// Rewrites <paramref name="model"/> in place: Q/DQ pairs on the planned activations with the given ranges,
        /// int8 per-channel weights and int32 biases behind DequantizeLinear nodes.
        /// </summary>
        public static void Apply(OnnxModel model, QuantizationPlan plan, IReadOnlyDictionary<string, (float Min, float Max)> ranges,
            IReadOnlyDictionary<string, float[]>? channelMeans = null, Int8Scheme scheme = Int8Scheme.U8S7)
        {
            var parameters = new Dictionary<string, ActivationQuantization>(StringComparer.Ordinal);
            foreach (var t in plan.Activations)
            {
                var source = plan.SharedWith.TryGetValue(t, out var root) ? root : t;
                if (!ranges.TryGetValue(source, out var range))
                    throw new ArgumentException($"No calibration range for tensor '{source}'.", nameof(ranges));
                parameters[t] = ActivationQuantization.FromRange(range.Min, range.Max);
            }

            var names = Names(model);
            var rename = new Dictionary<string, string>(StringComparer.Ordinal);
            var pairs = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
            foreach (var t in plan.Activations)
            {
                var p = parameters[t];
                string scale = Unique(names, t + "_scale"), zero = Unique(names, t + "_zero_point");
                string q = Unique(names, t + "_quantized"), dq = Unique(names, t + "_dequantized");
                model.Initializers.Add(OnnxTensor.Floats(scale, new[] { p.Scale }));
                model.Initializers.Add(OnnxTensor.UInt8s(zero, new[] { p.ZeroPoint }));
                pairs[t] = new List<OnnxNode>
                {
                    new OnnxNode("QuantizeLinear", q + "_node", new[] { t, scale, zero }, new[] { q }),
                    new OnnxNode("DequantizeLinear", dq + "_node", new[] { q, scale, zero }, new[] { dq }),
                };
                rename[t] = dq;
            }

            var weightNodes = new List<OnnxNode>();
            foreach (var conv in plan.WeightConvs)
            {
                var w = model.Initializer(conv.Input(1))!;
                int channels = (int)w.Dims[0];
                var (values, scales) = QuantizeWeights(w.ToFloats(), channels, WeightLimit(scheme));
                string wq = Unique(names, w.Name + (scheme == Int8Scheme.U8U8 ? "_uint8" : "_int8")), ws = Unique(names, w.Name + "_scale");
                string wz = Unique(names, w.Name + "_zero_point"), wdq = Unique(names, w.Name + "_dequantized");
                if (scheme == Int8Scheme.U8U8)
                {
                    // The same integers shifted by the zero point 128 (within [1, 255]).
                    model.Initializers.Add(OnnxTensor.UInt8s(wq, values.Select(v => (byte)(v + 128)).ToArray(), w.Dims));
                    model.Initializers.Add(OnnxTensor.UInt8s(wz, Enumerable.Repeat((byte)128, channels).ToArray(), channels));
                }
                else
                {
                    model.Initializers.Add(OnnxTensor.Int8s(wq, values, w.Dims));
                    model.Initializers.Add(OnnxTensor.Int8s(wz, new sbyte[channels], channels));
                }
                model.Initializers.Add(OnnxTensor.Floats(ws, scales, channels));
                weightNodes.Add(new OnnxNode("DequantizeLinear", wdq + "_node", new[] { wq, ws, wz }, new[] { wdq }, OnnxAttribute.Of("axis", 0L)));
                conv.Inputs[1] = wdq;

                var biasName = conv.Input(2);
                var bias = biasName.Length > 0 ? model.Initializer(biasName) : null;
                if (bias != null && bias.DataType == OnnxType.Float && parameters.TryGetValue(conv.Input(0), out var input))
                {
                    var b = bias.ToFloats();
                    if (channelMeans != null && channelMeans.TryGetValue(conv.Input(0), out var means) && (conv.IntAttribute("group") ?? 1) == 1)
                        CorrectBias(b, w.ToFloats(), values, scales, means);
                    var bq = new int[b.Length];
                    var bs = new float[b.Length];
                    for (int c = 0; c < b.Length; c++)
                    {
                        bs[c] = input.Scale * scales[c];
                        double v = Math.Round(b[c] / (double)bs[c], MidpointRounding.ToEven);
                        bq[c] = (int)Math.Max(int.MinValue, Math.Min(int.MaxValue, v));
                    }
                    string bqn = Unique(names, biasName + "_int32"), bsn = Unique(names, biasName + "_scale"), bzn = Unique(names, biasName + "_zero_point");
                    string bdq = Unique(names, biasName + "_dequantized");
                    model.Initializers.Add(OnnxTensor.Int32s(bqn, bq, b.Length));
                    model.Initializers.Add(OnnxTensor.Floats(bsn, bs, b.Length));
                    model.Initializers.Add(OnnxTensor.Int32s(bzn, new int[b.Length], b.Length));
                    weightNodes.Add(new OnnxNode("DequantizeLinear", bdq + "_node", new[] { bqn, bsn, bzn }, new[] { bdq }, OnnxAttribute.Of("axis", 0L)));
                    conv.Inputs[2] = bdq;
                }
            }
            var nodes = new List<OnnxNode>(weightNodes);
            foreach (var input in model.Inputs)
                if (pairs.TryGetValue(input.Name, out var pair)) nodes.AddRange(pair);
            foreach (var n in model.Nodes)
            {
                for (int i = 0; i < n.Inputs.Count; i++)
                    if (rename.TryGetValue(n.Inputs[i], out var dq)) n.Inputs[i] = dq;
                nodes.Add(n);
                foreach (var o in n.Outputs)
                    if (pairs.TryGetValue(o, out var pair)) nodes.AddRange(pair);
            }
            model.Nodes.Clear();
            model.Nodes.AddRange(nodes);
            RemoveUnused(model);
        }

        /// <summary>b[o] -= sum over input channels i and taps k of (q[o,i,k] * scale[o] - w[o,i,k]) * mean[i].</summary>
        internal static void CorrectBias(float[] bias, float[] weights, sbyte[] quantized, float[] scales, float[] inputMeans)
        {
            int outputs = bias.Length, inputs = inputMeans.Length;
            int per = weights.Length / outputs, taps = per / inputs;
            if (per != inputs * taps) return; // not a plain convolution over these channels
            for (int o = 0; o < outputs; o++)
            {
                double shift = 0;
                for (int i = 0; i < inputs; i++)
                {
                    double error = 0;
                    for (int k = 0; k < taps; k++)
                    {
                        int at = o * per + i * taps + k;
                        error += quantized[at] * (double)scales[o] - weights[at];
                    }
                    shift += error * inputMeans[i];
                }
                bias[o] -= (float)shift;
            }
        }

        /// <summary>Drops initializers no node reads any more (the float weights the int8 ones replaced).</summary>
        internal static void RemoveUnused(OnnxModel model)
        {
            var used = new HashSet<string>(model.Nodes.SelectMany(n => n.Inputs), StringComparer.Ordinal);
            foreach (var o in model.Outputs) used.Add(o.Name);
            model.Initializers.RemoveAll(t => !used.Contains(t.Name));
        }

        /// <summary>A tensor name not yet used in the model (names are checked against all nodes and initializers).</summary>
        private static string Unique(HashSet<string> names, string name)
        {
            var candidate = name;
            for (int i = 1; !names.Add(candidate); i++) candidate = name + "_" + i;
            return candidate;
        }

        private static HashSet<string> Names(OnnxModel model)
        {
            var names = new HashSet<string>(model.Initializers.Select(t => t.Name), StringComparer.Ordinal);
            foreach (var n in model.Nodes) { names.UnionWith(n.Inputs); names.UnionWith(n.Outputs); }
            foreach (var v in model.Inputs.Concat(model.Outputs)) names.Add(v.Name);
            return names;
        }
    }
}
