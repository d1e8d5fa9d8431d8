"""Project-written PyTorch definition of the reference network (seed model "UNet_ResNet50_default").

Written from the architecture facts in docs/reference-model.md, with the reference checkpoint's key names, so a
state dict of this module has exactly the reference's keys and shapes (width_div=1, classes=159). It exists to
prove that Cxas's importer (C#, no Python) reproduces the reference's logits; users never need it.

width_div divides every channel width (stem, bottleneck and decoder widths) to build a small variant with the
same topology, used for the test fixtures kept in the repository.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS = (3, 4, 6, 3)
EXPANSION = 4


class Bottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        out = planes * EXPANSION
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + identity)


class Encoder(nn.Module):
    """ResNet-50 without avgpool/fc; layer0 = conv1, bn1, relu, maxpool as one Sequential."""

    def __init__(self, width_div=1):
        super().__init__()
        stem = 64 // width_div
        self.layer0 = nn.Sequential(
            nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        inplanes = stem
        for i, (base, count) in enumerate(zip((64, 128, 256, 512), BLOCKS)):
            planes = base // width_div
            stride = 1 if i == 0 else 2
            blocks = []
            for b in range(count):
                blocks.append(Bottleneck(inplanes, planes, stride if b == 0 else 1))
                inplanes = planes * EXPANSION
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.channels = (stem,) + tuple(b // width_div * EXPANSION for b in (64, 128, 256, 512))

    def forward(self, x):
        f1 = self.layer0(x)
        f2 = self.layer1(f1)
        f3 = self.layer2(f2)
        f4 = self.layer3(f3)
        f5 = self.layer4(f4)
        return f1, f2, f3, f4, f5


class BackboneWrapper(nn.Module):
    def __init__(self, width_div):
        super().__init__()
        self.backbone = Encoder(width_div)


def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SingleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Sequential(*conv_bn_relu(cin, cout))

    def forward(self, x):
        return self.conv(x)


class DoubleConv(nn.Module):
    def __init__(self, cin, cout, mid):
        super().__init__()
        self.double_conv = nn.Sequential(*conv_bn_relu(cin, mid), *conv_bn_relu(mid, cout))

    def forward(self, x):
        return self.double_conv(x)


def up(x, like):
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class UpFirst(nn.Module):
    def __init__(self, cin, reduced, skip, cout, mid):
        super().__init__()
        self.conv1 = SingleConv(cin, reduced)
        self.conv2 = DoubleConv(skip + reduced, cout, mid)

    def forward(self, x, skip):
        x = self.conv1(x)
        return self.conv2(torch.cat([skip, up(x, skip)], dim=1))


class Up(nn.Module):
    def __init__(self, cin, cout, mid):
        super().__init__()
        self.conv = DoubleConv(cin, cout, mid)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, up(x, skip)], dim=1))


class OutConv(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.conv = nn.Conv2d(cin, classes, 1)

    def forward(self, x):
        return self.conv(x)


class Head(nn.Module):
    def __init__(self, channels, width_div, classes):
        super().__init__()
        c1, c2, c3, c4, c5 = channels
        d = width_div
        self.up1 = UpFirst(c5, 1024 // d, c4, 512 // d, 1024 // d)
        self.up2 = Up(c3 + 512 // d, 256 // d, 512 // d)
        self.up3 = Up(c2 + 256 // d, 64 // d, 256 // d)
        self.up4 = Up(c1 + 64 // d, 128 // d, 64 // d)
        self.out = OutConv(128 // d, classes)

    def forward(self, feats, size):
        f1, f2, f3, f4, f5 = feats
        x = self.up1(f5, f4)
        x = self.up2(x, f3)
        x = self.up3(x, f2)
        x = self.up4(x, f1)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return self.out(x)


class ReferenceUNet(nn.Module):
    """Input [N,3,H,W] (normalised), output logits [N,classes,H,W], in the published order (resize, then 1x1)."""

    def __init__(self, width_div=1, classes=159):
        super().__init__()
        if 64 % width_div:
            raise ValueError("width_div must divide 64")
        self.backbone = BackboneWrapper(width_div)
        self.head = Head(self.backbone.backbone.channels, width_div, classes)

    def forward(self, x):
        return self.head(self.backbone.backbone(x), x.shape[-2:])


# The checkpoint layouts in circulation for this network, as (name, description). The reference saves
# {'model': state_dict} from DataParallel ('module.' prefix); TorchXRayVision's loader also takes a bare state dict or
# one under 'state_dict', 'model_state_dict', 'network' or 'net', keys prefixed 'model.' or 'net.', and the encoder
# under 'backbone.*' as well as 'backbone.backbone.*'. Importers must read them all to the same network.
LAYOUTS = (
    ("reference", "{'model': state_dict} with 'module.' keys and their _metadata, plus epoch/arch/lr"),
    ("bare", "the state dict itself"),
    ("state_dict", "{'state_dict': state_dict, 'epoch': n}"),
    ("model_state_dict", "{'model_state_dict': state_dict, 'epoch': n, 'best': x}"),
    ("network", "{'network': state_dict}"),
    ("net", "{'net': state_dict}"),
    ("prefix_model", "bare, every key prefixed 'model.'"),
    ("prefix_net", "bare, every key prefixed 'net.'"),
    ("flat_backbone", "bare, encoder keys 'backbone.*' instead of 'backbone.backbone.*'"),
    ("combined", "{'state_dict': ...} with 'module.net.' prefixes and a flat 'backbone.*' encoder"),
)


def layout_object(state_dict, layout, epoch=37):
    """The object torch.save writes for one of LAYOUTS, from a plain (unprefixed) state dict of ReferenceUNet."""
    import collections

    def renamed(fn):
        return collections.OrderedDict((fn(k), v) for k, v in state_dict.items())

    def flat(k):
        return "backbone." + k[len("backbone.backbone."):] if k.startswith("backbone.backbone.") else k

    if layout == "reference":
        state = renamed(lambda k: "module." + k)
        meta = getattr(state_dict, "_metadata", None)
        if meta is not None:
            state._metadata = collections.OrderedDict(
                (("module." + k) if k else "module", v) for k, v in meta.items())
        return {"model": state, "epoch": epoch, "arch": "UNet_ResNet50", "lr": 1e-4}
    if layout == "bare":
        return renamed(lambda k: k)
    if layout == "state_dict":
        return {"state_dict": renamed(lambda k: k), "epoch": epoch}
    if layout == "model_state_dict":
        return {"model_state_dict": renamed(lambda k: k), "epoch": epoch, "best": 0.5}
    if layout == "network":
        return {"network": renamed(lambda k: k)}
    if layout == "net":
        return {"net": renamed(lambda k: k)}
    if layout == "prefix_model":
        return renamed(lambda k: "model." + k)
    if layout == "prefix_net":
        return renamed(lambda k: "net." + k)
    if layout == "flat_backbone":
        return renamed(flat)
    if layout == "combined":
        return {"state_dict": renamed(lambda k: "module.net." + flat(k)), "epoch": epoch}
    raise ValueError("unknown layout " + layout)
