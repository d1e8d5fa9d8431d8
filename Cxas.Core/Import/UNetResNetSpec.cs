
namespace Cxas.Import
{
    /// <summary>
    /// The channel widths and depths of a U-Net with a ResNet bottleneck encoder, the reference's topology:
    /// encoder stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool) and four bottleneck stages; decoder up1 (a conv that
    /// reduces f5, then a double conv over [f4, up(x)]), up2..up4 (double convs over [skip, up(x)]), and a 1x1 output
    /// conv. <see cref="Reference"/> is the published ResNet-50 model; <see cref="Scaled"/> divides every width.
    /// </summary>
    internal sealed class UNetResNetSpec : IEquatable<UNetResNetSpec>
    {
        public int StemWidth { get; set; } = 64;
        /// <summary>Bottleneck (inner) widths of layer1..layer4; a stage outputs width x <see cref="Expansion"/>.</summary>
        public int[] StageWidths { get; set; } = { 64, 128, 256, 512 };
        public int[] StageBlocks { get; set; } = { 3, 4, 6, 3 };
        public int Expansion { get; set; } = 4;
        /// <summary>Output width of <c>up1.conv1</c> (applied to f5 before upsampling).</summary>
        public int Up1Reduce { get; set; } = 1024;
        /// <summary>Middle widths of the double convs of up1..up4.</summary>
        public int[] DecoderMid { get; set; } = { 1024, 512, 256, 64 };
        /// <summary>Output widths of the double convs of up1..up4.</summary>
        public int[] DecoderOut { get; set; } = { 512, 256, 64, 128 };
        public int Classes { get; set; } = 159;

        public const string EncoderPrefix = "backbone.backbone.";
        public const string DecoderPrefix = "head.";

        /// <summary>The published reference: ResNet-50 encoder, 159 classes.</summary>
        public static UNetResNetSpec Reference(int classes = 159) => new UNetResNetSpec { Classes = classes };

        /// <summary>The reference topology with every channel width divided by <paramref name="divisor"/>.</summary>
        public static UNetResNetSpec Scaled(int divisor, int classes)
        {
            if (divisor < 1 || 64 % divisor != 0) throw new ArgumentOutOfRangeException(nameof(divisor), "must divide 64");
            var r = Reference(classes);
            return new UNetResNetSpec
            {
                StemWidth = r.StemWidth / divisor,
                StageWidths = r.StageWidths.Select(w => w / divisor).ToArray(),
                StageBlocks = (int[])r.StageBlocks.Clone(),
                Expansion = r.Expansion,
                Up1Reduce = r.Up1Reduce / divisor,
                DecoderMid = r.DecoderMid.Select(w => w / divisor).ToArray(),
                DecoderOut = r.DecoderOut.Select(w => w / divisor).ToArray(),
                Classes = classes,
            };
        }

        /// <summary>Channels of the encoder features f1..f5.</summary>
        public int[] FeatureChannels => new[] { StemWidth }.Concat(StageWidths.Select(w => w * Expansion)).ToArray();

        public bool IsReference => Equals(Reference());

        /// <summary>"resnet50" for the reference depths, else the block counts.</summary>
        public string EncoderName => StageBlocks.SequenceEqual(new[] { 3, 4, 6, 3 }) && Expansion == 4 ? "resnet50" : "resnet-" + string.Join("-", StageBlocks);

        public string Describe() =>
            $"unet-{EncoderName} stem {StemWidth}, stages {string.Join("/", StageWidths)} x{Expansion}, decoder {Up1Reduce}; " +
            $"{string.Join("/", DecoderMid)} -> {string.Join("/", DecoderOut)}, {Classes} classes";

        /// <summary>Every floating-point tensor the network needs, with its shape (BatchNorm counters excluded).</summary>
        public IEnumerable<(string Key, long[] Shape)> ExpectedTensors()
        {
            var list = new List<(string, long[])>();
            void Conv(string key, int cout, int cin, int k, bool bias)
            {
                list.Add((key + ".weight", new long[] { cout, cin, k, k }));
                if (bias) list.Add((key + ".bias", new long[] { cout }));
            }
            void Bn(string key, int c)
            {
                foreach (var p in new[] { "weight", "bias", "running_mean", "running_var" }) list.Add((key + "." + p, new long[] { c }));
            }
            var e = EncoderPrefix;
            Conv(e + "layer0.0", StemWidth, 3, 7, false);
            Bn(e + "layer0.1", StemWidth);
            int inplanes = StemWidth;
            for (int s = 0; s < 4; s++)
            {
                int planes = StageWidths[s], outc = planes * Expansion;
                for (int b = 0; b < StageBlocks[s]; b++)
                {
                    var p = $"{e}layer{s + 1}.{b}.";
                    Conv(p + "conv1", planes, inplanes, 1, false); Bn(p + "bn1", planes);
                    Conv(p + "conv2", planes, planes, 3, false); Bn(p + "bn2", planes);
                    Conv(p + "conv3", outc, planes, 1, false); Bn(p + "bn3", outc);
                    if (b == 0) { Conv(p + "downsample.0", outc, inplanes, 1, false); Bn(p + "downsample.1", outc); }
                    inplanes = outc;
                }
            }
            var f = FeatureChannels;
            var h = DecoderPrefix;
            Conv(h + "up1.conv1.conv.0", Up1Reduce, f[4], 3, true); Bn(h + "up1.conv1.conv.1", Up1Reduce);
            int x = Up1Reduce;
            for (int u = 0; u < 4; u++)
            {
                var p = u == 0 ? h + "up1.conv2.double_conv." : $"{h}up{u + 1}.conv.double_conv.";
                int cin = f[3 - u] + x;
                Conv(p + "0", DecoderMid[u], cin, 3, true); Bn(p + "1", DecoderMid[u]);
                Conv(p + "3", DecoderOut[u], DecoderMid[u], 3, true); Bn(p + "4", DecoderOut[u]);
                x = DecoderOut[u];
            }
            Conv(h + "out.conv", Classes, x, 1, true);
            return list;
        }

        /// <summary>
        /// Reads the widths and depths off a checkpoint's tensor shapes. Every other shape is then checked by the
        /// builder against <see cref="ExpectedTensors"/>, so a checkpoint of another architecture fails clearly.
        /// </summary>
        public static UNetResNetSpec Infer(TorchCheckpoint checkpoint)
        {
            int Dim(string key, int dim)
            {
                var t = checkpoint.Find(key) ?? throw new CxasException(CxasErrorKind.InvalidModel,
                    $"Checkpoint '{checkpoint.Path}' has no tensor '{key}': it is not a U-Net/ResNet model of the reference's layout " +
                    $"(first keys: {string.Join(", ", checkpoint.Tensors.Take(5).Select(x => x.Name))}).", checkpoint.Path);
                if (t.Shape.Count <= dim || t.Shape[dim] <= 0 || t.Shape[dim] > 65536)
                    throw new CxasException(CxasErrorKind.InvalidModel,
                        $"Checkpoint '{checkpoint.Path}': tensor '{key}' has shape [{t.ShapeText}].", checkpoint.Path);
                return (int)t.Shape[dim];
            }
            var e = EncoderPrefix;
            var spec = new UNetResNetSpec { StemWidth = Dim(e + "layer0.0.weight", 0) };
            for (int s = 0; s < 4; s++)
            {
                spec.StageWidths[s] = Dim($"{e}layer{s + 1}.0.conv1.weight", 0);
                int blocks = 0;
                while (checkpoint.Contains($"{e}layer{s + 1}.{blocks}.conv1.weight")) blocks++;
                spec.StageBlocks[s] = blocks;
            }
            int stage1Out = Dim(e + "layer1.0.conv3.weight", 0);
            if (stage1Out % spec.StageWidths[0] != 0)
                throw new CxasException(CxasErrorKind.InvalidModel,
                    $"Checkpoint '{checkpoint.Path}': layer1 widths {spec.StageWidths[0]} -> {stage1Out} are not a bottleneck expansion.", checkpoint.Path);
            spec.Expansion = stage1Out / spec.StageWidths[0];
            var h = DecoderPrefix;
            spec.Up1Reduce = Dim(h + "up1.conv1.conv.0.weight", 0);
            for (int u = 0; u < 4; u++)
            {
                var p = u == 0 ? h + "up1.conv2.double_conv." : $"{h}up{u + 1}.conv.double_conv.";
                spec.DecoderMid[u] = Dim(p + "0.weight", 0);
                spec.DecoderOut[u] = Dim(p + "3.weight", 0);
            }
            spec.Classes = Dim(h + "out.conv.weight", 0);
            return spec;
        }

        public bool Equals(UNetResNetSpec? other) =>
            other != null && StemWidth == other.StemWidth && Expansion == other.Expansion && Up1Reduce == other.Up1Reduce
            && Classes == other.Classes && StageWidths.SequenceEqual(other.StageWidths) && StageBlocks.SequenceEqual(other.StageBlocks)
            && DecoderMid.SequenceEqual(other.DecoderMid) && DecoderOut.SequenceEqual(other.DecoderOut);

        public override bool Equals(object? obj) => Equals(obj as UNetResNetSpec);
        public override int GetHashCode() => (StemWidth * 31 + Up1Reduce) * 31 + Classes;
        public override string ToString() => Describe();
    }
}
