using Cxas.Onnx;

namespace Cxas.Import
{
    /// <summary>
    /// Builds the inference graph of a <see cref="UNetResNetSpec"/> network as ONNX from a checkpoint's tensors.
    /// BatchNorm (eval mode, running statistics) is folded into the preceding convolution; bilinear resizes are ONNX
    /// Resize (linear, half_pixel: PyTorch's align_corners=False) to the skip feature's size; the 1x1 output conv runs
    /// before the last resize, which is exact because both are linear and the resize weights sum to one.
    /// </summary>
    internal static class UNetResNetOnnxBuilder
    {
        public const double BatchNormEpsilon = 1e-5;
        public const string InputName = "input";
        public const string OutputName = "logits";

        /// <summary>
        /// Builds the graph. Input [batch,3,H,W] with H and W fixed when given, symbolic otherwise; output
        /// [batch,classes,H,W]. <paramref name="progress"/> receives (tensors done, tensors total).
        /// </summary>
        public static OnnxModelBuilder Build(TorchCheckpoint checkpoint, UNetResNetSpec spec, int? inputHeight = null, int? inputWidth = null,
            Action<int, int>? progress = null)
        {
            var expected = spec.ExpectedTensors().ToList();
            // Like load_state_dict(strict=True), not the strict=False of the reference's loaders: every tensor the
            // network needs must be there with its shape, and nothing else (BatchNorm counters aside), so a wrong file
            // is refused whole, with the names, rather than half-loaded.
            var missing = expected.Where(e => checkpoint.Find(e.Key) == null).ToList();
            var known = new HashSet<string>(expected.Select(e => e.Key), StringComparer.Ordinal);
            var extra = checkpoint.Tensors.Where(t => !known.Contains(t.Name) && !t.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
            if (missing.Count > 0 || extra.Count > 0)
            {
                string List(IEnumerable<string> names, int count) => string.Join(", ", names.Take(16)) + (count > 16 ? $", ... ({count} in all)" : "");
                var parts = new List<string>();
                if (missing.Count > 0)
                    parts.Add($"lacks {missing.Count} tensor(s) a {spec.EncoderName} U-Net needs: " +
                              List(missing.Select(m => $"'{m.Key}' [{string.Join("x", m.Shape)}]"), missing.Count));
                if (extra.Count > 0)
                    parts.Add($"has {extra.Count} tensor(s) the network does not use: " + List(extra.Select(x => $"'{x.Name}' [{x.ShapeText}]"), extra.Count));
                throw new CxasException(CxasErrorKind.InvalidModel,
                    $"Checkpoint '{checkpoint.Path}' {string.Join("; and ", parts)}. It is not the reference architecture; nothing was imported.",
                    checkpoint.Path);
            }
            foreach (var (key, shape) in expected)
            {
                var t = checkpoint.Find(key)!;
                if (!t.Shape.SequenceEqual(shape))
                    throw new CxasException(CxasErrorKind.InvalidModel,
                        $"Checkpoint '{checkpoint.Path}': tensor '{key}' has shape [{t.ShapeText}], expected [{string.Join("x", shape)}] for {spec.Describe()}.",
                        checkpoint.Path);
                if (!t.IsFloatingPoint)
                    throw new CxasException(CxasErrorKind.InvalidModel,
                        $"Checkpoint '{checkpoint.Path}': tensor '{key}' is {t.DType}, not floating point.", checkpoint.Path);
            }
            var b = new Builder(checkpoint, expected.Count, progress);
            return b.Build(spec, inputHeight, inputWidth);
        }

        private sealed class Builder
        {
            private readonly TorchCheckpoint _ckpt;
            private readonly OnnxModelBuilder _g = new OnnxModelBuilder { Name = "cxas_unet_resnet" };
            private readonly int _total;
            private readonly Action<int, int>? _progress;
            private int _done;

            public Builder(TorchCheckpoint ckpt, int total, Action<int, int>? progress)
            {
                _ckpt = ckpt;
                _total = total;
                _progress = progress;
            }

            private float[] Read(string key, params long[] shape)
            {
                var values = _ckpt.ReadFloats(key, shape);
                _done++;
                _progress?.Invoke(_done, _total);
                return values;
            }

            public OnnxModelBuilder Build(UNetResNetSpec spec, int? height, int? width)
            {
                _g.AddInput(InputName, "batch", 3, (object?)height ?? "height", (object?)width ?? "width");
                _g.AddOutput(OutputName, "batch", spec.Classes, (object?)height ?? "height", (object?)width ?? "width");
                var e = UNetResNetSpec.EncoderPrefix;

                // Encoder.
                var x = ConvBn(InputName, e + "layer0.0", null, e + "layer0.1", 3, spec.StemWidth, 7, 2, relu: true);
                var f1 = _g.AddNode("MaxPool", new[] { x },
                    OnnxAttribute.Of("kernel_shape", 3L, 3L), OnnxAttribute.Of("strides", 2L, 2L), OnnxAttribute.Of("pads", 1L, 1L, 1L, 1L));
                var features = new List<string> { f1 };
                x = f1;
                int inplanes = spec.StemWidth;
                for (int s = 0; s < 4; s++)
                {
                    int planes = spec.StageWidths[s], outc = planes * spec.Expansion;
                    for (int blk = 0; blk < spec.StageBlocks[s]; blk++)
                    {
                        int stride = s > 0 && blk == 0 ? 2 : 1;
                        var p = $"{e}layer{s + 1}.{blk}.";
                        var identity = blk == 0
                            ? ConvBn(x, p + "downsample.0", null, p + "downsample.1", inplanes, outc, 1, stride, relu: false)
                            : x;
                        var y = ConvBn(x, p + "conv1", null, p + "bn1", inplanes, planes, 1, 1, relu: true);
                        y = ConvBn(y, p + "conv2", null, p + "bn2", planes, planes, 3, stride, relu: true);
                        y = ConvBn(y, p + "conv3", null, p + "bn3", planes, outc, 1, 1, relu: false);
                        x = _g.AddNode("Relu", new[] { _g.AddNode("Add", new[] { y, identity }) });
                        inplanes = outc;
                    }
                    features.Add(x);
                }

                // Decoder.
                var f = spec.FeatureChannels;
                var h = UNetResNetSpec.DecoderPrefix;
                x = ConvBn(features[4], h + "up1.conv1.conv.0", h + "up1.conv1.conv.0", h + "up1.conv1.conv.1", f[4], spec.Up1Reduce, 3, 1, relu: true);
                int channels = spec.Up1Reduce;
                for (int u = 0; u < 4; u++)
                {
                    var skip = features[3 - u];
                    // f1 and f2 always share a size (layer1 has stride 1), so up4's resize is the identity and is left out.
                    var upsampled = u == 3 ? x : ResizeLike(x, skip);
                    var cat = _g.AddNode("Concat", new[] { skip, upsampled }, OnnxAttribute.Of("axis", 1L));
                    var p = u == 0 ? h + "up1.conv2.double_conv." : $"{h}up{u + 1}.conv.double_conv.";
                    int cin = f[3 - u] + channels;
                    x = ConvBn(cat, p + "0", p + "0", p + "1", cin, spec.DecoderMid[u], 3, 1, relu: true);
                    x = ConvBn(x, p + "3", p + "3", p + "4", spec.DecoderMid[u], spec.DecoderOut[u], 3, 1, relu: true);
                    channels = spec.DecoderOut[u];
                }

                // Output conv at the decoder's resolution, then one resize of the logit planes to the input size.
                var w = Read(h + "out.conv.weight", spec.Classes, channels, 1, 1);
                var bias = Read(h + "out.conv.bias", spec.Classes);
                var wName = _g.AddInitializer(h + "out.conv.weight", w, spec.Classes, channels, 1, 1);
                var bName = _g.AddInitializer(h + "out.conv.bias", bias, spec.Classes);
                var logits = _g.AddNode("Conv", new[] { x, wName, bName }, OnnxAttribute.Of("kernel_shape", 1L, 1L));
                var sizes = ResizeSizes(logits, InputName);
                _g.AddNode("Resize", new[] { logits, "", "", sizes }, new[] { OutputName },
                    OnnxAttribute.Of("mode", "linear"), OnnxAttribute.Of("coordinate_transformation_mode", "half_pixel"));
                return _g;
            }

            /// <summary>Conv (+ folded BatchNorm) (+ ReLU). <paramref name="biasKey"/> names a conv with its own bias.</summary>
            private string ConvBn(string input, string convKey, string? biasKey, string bnKey, int cin, int cout, int k, int stride, bool relu)
            {
                var w = Read(convKey + ".weight", cout, cin, k, k);
                var convBias = biasKey != null ? Read(biasKey + ".bias", cout) : null;
                var gamma = Read(bnKey + ".weight", cout);
                var beta = Read(bnKey + ".bias", cout);
                var mean = Read(bnKey + ".running_mean", cout);
                var variance = Read(bnKey + ".running_var", cout);
                var bias = new float[cout];
                int per = cin * k * k;
                for (int o = 0; o < cout; o++)
                {
                    if (!(variance[o] >= 0))
                        throw new CxasException(CxasErrorKind.InvalidModel,
                            $"Checkpoint '{_ckpt.Path}': '{bnKey}.running_var' has a negative or NaN value.", _ckpt.Path);
                    double scale = gamma[o] / Math.Sqrt(variance[o] + BatchNormEpsilon);
                    for (int i = o * per, end = i + per; i < end; i++) w[i] = (float)(w[i] * scale);
                    double b0 = convBias != null ? convBias[o] : 0.0;
                    bias[o] = (float)((b0 - mean[o]) * scale + beta[o]);
                }
                var wName = _g.AddInitializer(convKey + ".weight", w, cout, cin, k, k);
                var bName = _g.AddInitializer(convKey + ".bias_folded", bias, cout);
                long pad = k / 2;
                var y = _g.AddNode("Conv", new[] { input, wName, bName },
                    OnnxAttribute.Of("kernel_shape", (long)k, k),
                    OnnxAttribute.Of("strides", (long)stride, stride),
                    OnnxAttribute.Of("pads", pad, pad, pad, pad));
                return relu ? _g.AddNode("Relu", new[] { y }) : y;
            }

            /// <summary>Bilinear resize of x to like's height and width (align_corners=False).</summary>
            private string ResizeLike(string x, string like)
            {
                var sizes = ResizeSizes(x, like);
                return _g.AddNode("Resize", new[] { x, "", "", sizes },
                    OnnxAttribute.Of("mode", "linear"), OnnxAttribute.Of("coordinate_transformation_mode", "half_pixel"));
            }

            /// <summary>[N, C] of x followed by [H, W] of like, as an int64 tensor.</summary>
            private string ResizeSizes(string x, string like)
            {
                var nc = _g.AddNode("Shape", new[] { x }, OnnxAttribute.Of("start", 0L), OnnxAttribute.Of("end", 2L));
                var hw = _g.AddNode("Shape", new[] { like }, OnnxAttribute.Of("start", 2L));
                return _g.AddNode("Concat", new[] { nc, hw }, OnnxAttribute.Of("axis", 0L));
            }
        }
    }
}
