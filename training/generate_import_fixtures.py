"""Writes a random-weight checkpoint of the reference network in the reference's format, fixed inputs, and the
logits PyTorch computes for them: the independent truth for Cxas's checkpoint-import parity tests.

  python3 training/generate_import_fixtures.py --out tests/fixtures/import --width-div 16 --classes 5 \
      --size 128x160 --size 97x131

writes <out>/<name>.pth ({'model': state_dict with 'module.' prefix, 'epoch': n}), <out>/input_<i>.npy
(float32 [1,3,H,W]) and <out>/logits_<i>.npy (float32 [1,classes,H,W]). Needs python3-torch and python3-numpy
(Debian packages); only tests use it.
"""

import argparse
import collections
import os

import numpy as np
import torch
import torch.nn as nn

from reference_arch import ReferenceUNet


def randomise(model, generator):
    """Random conv weights (torch's default init) and random BatchNorm affine parameters, then running
    statistics calibrated on random images (so activations stay in range through ~70 layers), then jittered."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.6, 1.4, generator=generator)
                m.bias.normal_(0.0, 0.2, generator=generator)
            m.momentum = None  # cumulative average over the calibration batches
            m.reset_running_stats()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(2, 3, 96, 128, generator=generator))
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                n = m.running_var.numel()
                m.running_var.mul_(torch.empty(n).uniform_(0.8, 1.25, generator=generator))
                m.running_mean.add_(torch.randn(n, generator=generator) * 0.05 * m.running_var.sqrt())
            m.momentum = 0.1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--name", default="reference")
    parser.add_argument("--width-div", type=int, default=1)
    parser.add_argument("--classes", type=int, default=159)
    parser.add_argument("--size", action="append", default=None, help="HxW of one test input (repeatable)")
    parser.add_argument("--image", action="append", default=[],
                        help="a radiograph run through the reference's own pre/post-processing (repeatable): writes "
                             "image_<i>_masks.npy, bool [C,H,W] at the image's size")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--epoch", type=int, default=37)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = ReferenceUNet(args.width_div, args.classes)
    randomise(model, generator)

    os.makedirs(args.out, exist_ok=True)
    # The reference's format: saved from DataParallel ('module.' prefix) inside a wrapper dict.
    plain = model.state_dict()
    state = collections.OrderedDict(("module." + k, v) for k, v in plain.items())
    # Like a DataParallel state dict, keep the per-module version metadata (pickled with BUILD).
    state._metadata = collections.OrderedDict(
        (("module." + k) if k else "module", v) for k, v in plain._metadata.items())
    torch.save({"model": state, "epoch": args.epoch, "arch": "UNet_ResNet50", "lr": 1e-4},
               os.path.join(args.out, args.name + ".pth"))

    sizes = args.size or ["512x512"]
    with torch.no_grad():
        for i, s in enumerate(sizes):
            h, w = (int(v) for v in s.lower().split("x"))
            x = torch.randn(1, 3, h, w, generator=generator)
            y = model(x)
            np.save(os.path.join(args.out, f"input_{i}.npy"), x.numpy().astype(np.float32))
            np.save(os.path.join(args.out, f"logits_{i}.npy"), y.numpy().astype(np.float32))
            print(f"input {i}: {h}x{w}, logits range [{y.min().item():.4f}, {y.max().item():.4f}], "
                  f"positive {(y > 0).float().mean().item():.3f}")
        for i, path in enumerate(args.image):
            m = reference_masks(model, path)
            np.save(os.path.join(args.out, f"image_{i}_masks.npy"), m)
            print(f"image {i}: {path}, masks {m.shape}, positive {m.mean():.3f}")


def reference_masks(model, path):
    """The seed pipeline on an image file: RGB 8-bit -> [0,1] -> ImageNet mean/std -> nearest resize to 512x512
    -> logits > 0 -> nearest resize back to the image's size (torch's own nearest rule both ways)."""
    from PIL import Image
    import torch.nn.functional as F
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / np.float32(255)
    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = (x - mean) / std
    h, w = x.shape[2], x.shape[3]
    x = F.interpolate(x, size=(512, 512), mode="nearest")
    with torch.no_grad():
        masks = (model(x) > 0).float()
    return F.interpolate(masks, size=(h, w), mode="nearest")[0].numpy().astype(bool)


if __name__ == "__main__":
    main()
