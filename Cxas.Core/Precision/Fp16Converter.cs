using System;
using System.Collections.Generic;
using System.Linq;
using Cxas.Onnx;

namespace Cxas.Precision
{
    // Float16 rewrite of a float model, for CUDA: the model keeps float32 inputs and outputs, so the pipeline is
    // unchanged.
    //   graph float input x  -> Cast(to float16) -> every former consumer of x;
    //   initializers read only by arithmetic ops (Conv, Gemm, MatMul, Add, Sub, Mul, Div, BatchNormalization) -> float16,
    //     rounded to nearest even; the others (Resize scales, shapes) stay as they are;
    //   graph float output y -> its producer writes y_float16 -> Cast(to float) -> y.
    // A Constant node with a float value feeding arithmetic would mix types: such a model is refused.

    internal static class Fp16Converter
    {
        private static readonly HashSet<string> Arithmetic = new HashSet<string>(StringComparer.Ordinal)
        {
            "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "BatchNormalization",
        };

        public static void Apply(OnnxModel model)
        {
            var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
            foreach (var n in model.Nodes)
                foreach (var i in n.Inputs.Where(i => i.Length > 0))
                {
                    if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = new List<OnnxNode>();
                    list.Add(n);
                }
            foreach (var n in model.Nodes.Where(n => n.OpType == "Constant"))
                if (consumers.TryGetValue(n.Outputs[0], out var users) && users.Any(u => Arithmetic.Contains(u.OpType)))
                    throw new CxasException(CxasErrorKind.NotSupported,
                        $"'{model.Source}': Constant node '{n.Name}' feeds arithmetic; float16 conversion handles weights held as initializers only.", model.Source);

            for (int k = 0; k < model.Initializers.Count; k++)
            {
                var t = model.Initializers[k];
                if (t.DataType != OnnxType.Float || !consumers.TryGetValue(t.Name, out var users) || !users.All(u => Arithmetic.Contains(u.OpType)))
                    continue;
                var values = t.ToFloats();
                var raw = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++)
                {
                    ushort h = Float16Bits.FromSingle(values[i]);
                    raw[2 * i] = (byte)h;
                    raw[2 * i + 1] = (byte)(h >> 8);
                }
                model.Initializers[k] = new OnnxTensor(t.Name, OnnxType.Float16, t.Dims, raw);
            }

            var nodes = new List<OnnxNode>();
            foreach (var input in model.Inputs.Where(i => i.ElementType == OnnxType.Float))
            {
                var cast = input.Name + "_float16";
                nodes.Add(new OnnxNode("Cast", cast + "_node", new[] { input.Name }, new[] { cast }, OnnxAttribute.Of("to", (long)OnnxType.Float16)));
                foreach (var n in model.Nodes)
                    for (int i = 0; i < n.Inputs.Count; i++)
                        if (n.Inputs[i] == input.Name) n.Inputs[i] = cast;
            }
            nodes.AddRange(model.Nodes);
            foreach (var output in model.Outputs.Where(o => o.ElementType == OnnxType.Float))
            {
                var half = output.Name + "_float16";
                foreach (var n in model.Nodes)
                {
                    for (int i = 0; i < n.Outputs.Count; i++) if (n.Outputs[i] == output.Name) n.Outputs[i] = half;
                    for (int i = 0; i < n.Inputs.Count; i++) if (n.Inputs[i] == output.Name) n.Inputs[i] = half;
                }
                nodes.Add(new OnnxNode("Cast", output.Name + "_node", new[] { half }, new[] { output.Name }, OnnxAttribute.Of("to", (long)OnnxType.Float)));
            }
            model.Nodes.Clear();
            model.Nodes.AddRange(nodes);
        }
    }

    /// <summary>IEEE 754 binary16 conversion (netstandard2.0 has no System.Half).</summary>
    internal static class Float16Bits
    {
        /// <summary>The nearest float16 (ties to even); overflow gives infinity, NaN stays NaN.</summary>
        public static unsafe ushort FromSingle(float value)
        {
            uint x = *(uint*)&value;
            uint sign = (x >> 16) & 0x8000;
            int biased = (int)((x >> 23) & 0xFF);
            uint mantissa = x & 0x7FFFFF;
            if (biased == 0xFF) return (ushort)(sign | 0x7C00 | (mantissa != 0 ? 0x200u : 0));
            int exponent = biased - 127 + 15;
            if (exponent >= 31) return (ushort)(sign | 0x7C00);
            if (exponent <= 0)
            {
                if (exponent < -10) return (ushort)sign;
                mantissa |= 0x800000;
                int shift = 14 - exponent;
                uint half = mantissa >> shift;
                uint rest = mantissa & ((1u << shift) - 1), middle = 1u << (shift - 1);
                if (rest > middle || (rest == middle && (half & 1) != 0)) half++;
                return (ushort)(sign | half);
            }
            uint h = ((uint)exponent << 10) | (mantissa >> 13);
            uint r = mantissa & 0x1FFF;
            if (r > 0x1000 || (r == 0x1000 && (h & 1) != 0)) h++; // a carry into the exponent rounds up correctly
            return (ushort)(sign | h);
        }

        public static unsafe float ToSingle(ushort h)
        {
            uint sign = (uint)(h & 0x8000) << 16;
            int exponent = (h >> 10) & 0x1F;
            uint mantissa = (uint)h & 0x3FF;
            uint bits;
            if (exponent == 0x1F) bits = sign | 0x7F800000 | (mantissa << 13);
            else if (exponent != 0) bits = sign | ((uint)(exponent - 15 + 127) << 23) | (mantissa << 13);
            else if (mantissa == 0) bits = sign;
            else
            {
                int e = -1;
                do { mantissa <<= 1; e++; } while ((mantissa & 0x400) == 0);
                bits = sign | ((uint)(127 - 15 - e) << 23) | ((mantissa & 0x3FF) << 13);
            }
            return *(float*)&bits;
        }
    }
}
