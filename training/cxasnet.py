"""ResNet-18 U-Net for multi-label chest X-ray anatomy segmentation.

The encoder is a plain ResNet-18 (conv1 7x7/2, maxpool, four stages of two basic blocks) written here,
because torchvision is not available. Its weights can be initialised from the ImageNet ResNet-18 that
ships as ResNet18.onnx in the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 (see
load_imagenet_onnx). The decoder upsamples bilinearly and fuses skip features with conv-BN-ReLU blocks
down to half the input resolution; a 1x1 convolution gives the class logits, which are resized
bilinearly to the input size.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

LABELS = [
    "right lung", "left lung", "lung", "heart",
    "clavicle right", "clavicle left", "clavicles",
    "trachea", "cardiomediastinum",
]


class PadConv(nn.Module):
    """Conv without bias whose padding is either torch's symmetric one or an explicit (begin, end) pair.

    The explicit pair reproduces the ONNX graph's asymmetric pads exactly (used by the mapping test);
    training and export use the symmetric padding.
    """

    def __init__(self, cin, cout, k, stride, pad, onnx_pad=None):
        super().__init__()
        self.onnx_pad = onnx_pad  # (begin, end) or None
        self.conv = nn.Conv2d(cin, cout, k, stride, 0 if onnx_pad else pad, bias=False)

    def forward(self, x):
        if self.onnx_pad:
            b, e = self.onnx_pad
            x = F.pad(x, (b, e, b, e))
        return self.conv(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, onnx_pads=False):
        super().__init__()
        asym = (1, 0) if (onnx_pads and stride == 2) else ((1, 1) if onnx_pads else None)
        self.conv1 = PadConv(cin, cout, 3, stride, 1, asym)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = PadConv(cout, cout, 3, 1, 1, (1, 1) if onnx_pads else None)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.down is None else self.down(x)
        return F.relu(y + skip)


class ResNet18Encoder(nn.Module):
    """Returns features at strides 2, 4, 8, 16, 32 (64, 64, 128, 256, 512 channels)."""

    def __init__(self, onnx_pads=False):
        super().__init__()
        self.onnx_pads = onnx_pads
        self.conv1 = PadConv(3, 64, 7, 2, 3, (3, 2) if onnx_pads else None)
        self.bn1 = nn.BatchNorm2d(64)
        chans = [64, 64, 128, 256, 512]
        self.layers = nn.ModuleList()
        for i in range(4):
            stride = 1 if i == 0 else 2
            self.layers.append(nn.Sequential(
                BasicBlock(chans[i], chans[i + 1], stride, onnx_pads),
                BasicBlock(chans[i + 1], chans[i + 1], 1, onnx_pads)))

    def forward(self, x):
        f1 = F.relu(self.bn1(self.conv1(x)))
        if self.onnx_pads:
            x = F.max_pool2d(F.pad(f1, (1, 0, 1, 0), value=float("-inf")), 3, 2)
        else:
            x = F.max_pool2d(f1, 3, 2, 1)
        feats = [f1]
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats

    def conv_bn_pairs(self):
        """(conv, bn) pairs in the order the ONNX graph computes them: in a block with a projection,
        the 1x1 projection comes before the block's first 3x3 conv."""
        pairs = [(self.conv1.conv, self.bn1)]
        for layer in self.layers:
            for block in layer:
                if block.down is not None:
                    pairs.append((block.down[0], block.down[1]))
                pairs.append((block.conv1.conv, block.bn1))
                pairs.append((block.conv2.conv, block.bn2))
        return pairs


class ConvBnRelu(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UpBlock(nn.Module):
    def __init__(self, cin, cskip, cout):
        super().__init__()
        self.conv1 = ConvBnRelu(cin + cskip, cout)
        self.conv2 = ConvBnRelu(cout, cout)

    def forward(self, x, skip):
        # exact doubling (input sizes are multiples of 32): a fixed scale keeps the ONNX graph free of Shape ops,
        # and for doubling it samples exactly as size=skip.shape[-2:] would
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.conv2(self.conv1(torch.cat([skip, x], 1)))


class CxasUNet(nn.Module):
    def __init__(self, n_classes=len(LABELS), dec=(192, 96, 64, 32)):
        super().__init__()
        self.encoder = ResNet18Encoder()
        self.up4 = UpBlock(512, 256, dec[0])   # stride 16
        self.up3 = UpBlock(dec[0], 128, dec[1])  # stride 8
        self.up2 = UpBlock(dec[1], 64, dec[2])   # stride 4
        self.up1 = UpBlock(dec[2], 64, dec[3])   # stride 2
        self.head = nn.Conv2d(dec[3], n_classes, 1)

    def forward(self, x):
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"input size {tuple(x.shape[-2:])} must be a multiple of 32")
        f1, f2, f3, f4, f5 = self.encoder(x)
        y = self.up4(f5, f4)
        y = self.up3(y, f3)
        y = self.up2(y, f2)
        y = self.up1(y, f1)
        y = self.head(y)
        return F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)


# ---------------------------------------------------------------------------------------------
# ImageNet initialisation from ResNet18.onnx (CNTK export: separate Conv and BatchNormalization
# nodes, input is BGR 0..255 minus a per-channel mean of about (103, 116, 123)).

def read_onnx_graph(path):
    """Nodes (op, inputs, outputs, attrs) and initialisers (name -> float tensor) of an ONNX file."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    nodes = []
    for n in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        nodes.append((n.op_type, list(n.input), list(n.output), attrs))
    return nodes, inits, model.graph.input[0].name


def onnx_conv_bn(nodes, inits):
    """[(conv weight, (scale, bias, mean, var, eps))] in graph order."""
    bn_of = {}
    for op, ins, outs, attrs in nodes:
        if op == "BatchNormalization":
            bn_of[ins[0]] = ([inits[i] for i in ins[1:5]], attrs.get("epsilon", 1e-5))
    out = []
    for op, ins, outs, attrs in nodes:
        if op == "Conv":
            if outs[0] not in bn_of:
                raise ValueError(f"conv {outs[0]} is not followed by a BatchNormalization")
            out.append((inits[ins[1]], bn_of[outs[0]]))
    return out


# ImageNet normalisation the module applies (RGB), and what the CNTK graph expects (BGR, 0..255).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def load_imagenet_onnx(encoder, path, for_module_input=True):
    """Copy the ONNX ResNet-18's conv and BN parameters into `encoder`.

    With for_module_input, conv1 is rescaled so that the module's input ((rgb/255 - MEAN)/STD) gives
    the same first-layer response as the graph's BGR 0..255 input minus its mean image (the two means
    differ by under one grey level: 255*MEAN = 123.7, 116.3, 103.5 vs the graph's 123.2, 115.9, 103.1).
    Without it the weights are copied verbatim (graph channel order, graph scale): the mapping test.
    """
    nodes, inits, _ = read_onnx_graph(path)
    src = onnx_conv_bn(nodes, inits)
    dst = encoder.conv_bn_pairs()
    # The CNTK ResNet-18 in the package has three basic blocks in stage 4 (22 convs); the encoder here is
    # the usual 2-2-2-2 ResNet-18 (20 convs), so the third stage-4 block (last two convs) is left out:
    # it is a residual block, and the model would otherwise exceed the 60 MB budget.
    if len(src) == len(dst) + 2 and all(tuple(w.shape) == (512, 512, 3, 3) for w, _ in src[-2:]):
        src = src[:len(dst)]
    if len(src) != len(dst):
        raise ValueError(f"ONNX has {len(src)} conv+bn pairs, encoder {len(dst)}")
    with torch.no_grad():
        for i, ((w, (bn, eps)), (conv, mbn)) in enumerate(zip(src, dst)):
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise ValueError(f"pair {i}: shape {tuple(w.shape)} vs {tuple(conv.weight.shape)}")
            w = w.clone()
            if i == 0 and for_module_input:
                w = w.flip(1)  # BGR -> RGB input channels
                w = w * (255.0 * torch.tensor(STD).view(1, 3, 1, 1))
            conv.weight.copy_(w)
            scale, bias, mean, var = bn
            mbn.weight.copy_(scale)
            mbn.bias.copy_(bias)
            mbn.running_mean.copy_(mean)
            mbn.running_var.copy_(var)
            mbn.eps = float(eps)
    return len(src)


def run_onnx_graph_torch(nodes, inits, input_name, x):
    """Evaluate the ResNet18.onnx graph with torch ops (Conv, BatchNormalization, Relu, Add, MaxPool,
    AveragePool), honouring its explicit pads. Returns all values by name."""
    vals = dict(inits)
    vals[input_name] = x

    def padded(t, pads, value=0.0):
        if not pads or not any(pads):
            return t
        nd = len(pads) // 2
        begin, end = pads[:nd], pads[nd:]
        torch_pad = []
        for d in reversed(range(nd)):
            torch_pad += [begin[d], end[d]]
        return F.pad(t, torch_pad, value=value)

    for op, ins, outs, a in nodes:
        if op == "Conv":
            t = padded(vals[ins[0]], a.get("pads"))
            b = vals[ins[2]] if len(ins) > 2 else None
            y = F.conv2d(t, vals[ins[1]], b, stride=a.get("strides", [1, 1]), dilation=a.get("dilations", [1, 1]),
                         groups=a.get("group", 1))
        elif op == "BatchNormalization":
            y = F.batch_norm(vals[ins[0]], vals[ins[3]], vals[ins[4]], vals[ins[1]], vals[ins[2]], False, 0.0,
                             a.get("epsilon", 1e-5))
        elif op == "Relu":
            y = F.relu(vals[ins[0]])
        elif op == "Add":
            y = vals[ins[0]] + vals[ins[1]]
        elif op == "MaxPool":
            t = padded(vals[ins[0]], a.get("pads"), float("-inf"))
            y = F.max_pool2d(t, a["kernel_shape"], a.get("strides", [1, 1]))
        elif op == "AveragePool":
            y = F.avg_pool2d(vals[ins[0]], a["kernel_shape"], a.get("strides", [1, 1]))
        else:
            raise ValueError(f"unsupported op {op}")
        vals[outs[0]] = y
    return vals
