"""PyTorch reference outputs of the shipped model, for the .NET test that runs the same image through Cxas.

    /usr/bin/python3 training/make_reference_fixture.py --ckpt training/runs/r18-320/final.pt \
        --model models/cxas-anatomy-r18 --out tests/fixtures/default-model

Writes, into --out:
- reference.png: a 613x547 grey synthetic chest drawn here from a fixed seed (no shared data; odd size so that
  both nearest resizes hit non-integer ratios);
- reference-masks.bin.gz: the checkpoint's masks for it, predicted the way the module predicts (nearest down to
  the input size, logit > 0, nearest back up): gzip of "CXREF1", then little-endian int32 width, height, class
  count, then one uint16 per pixel, row-major, bit c set where class c is present;
- reference.json: labels, the model.onnx SHA-256 the masks belong to, the checkpoint's name.
Regenerate whenever model.onnx changes; the test says so when the hash differs.
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxasnet  # noqa: E402
import evaluate  # noqa: E402

W, H = 613, 547


def synthetic_chest(seed=20261128):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    u, v = (xx + 0.5) / W, (yy + 0.5) / H

    def ell(cx, cy, ax, ay):
        return ((u - cx) / ax) ** 2 + ((v - cy) / ay) ** 2 < 1

    g = np.full((H, W), 20.0)
    g[ell(0.50, 0.66, 0.50, 0.66)] = 150                     # body
    g[ell(0.31, 0.47, 0.15, 0.30)] = 55                      # right lung (image left)
    g[ell(0.69, 0.47, 0.15, 0.30)] = 55                      # left lung (image right)
    g[(np.abs(u - 0.5) < 0.05) & (v > 0.02)] = 175           # spine and mediastinum
    g[(np.abs(u - 0.5) < 0.016) & (v > 0.02) & (v < 0.36)] = 95  # trachea (air)
    g[ell(0.56, 0.68, 0.18, 0.13)] = 180                     # heart
    for side in (-1, 1):                                     # clavicles: bright oblique bands
        d = np.abs((v - 0.17) - 0.25 * (np.abs(u - 0.5) - 0.06))
        g[(d < 0.018) & (side * (u - 0.5) > 0.06) & (side * (u - 0.5) < 0.33)] = 200
    g += 8 * np.sin(xx * 0.19) * np.sin(yy * 0.23)           # texture
    k = np.ones(5) / 5                                       # soften the edges (box blur 5x5)
    g = np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), 1, g)
    g = np.apply_along_axis(lambda c: np.convolve(c, k, mode="same"), 0, g)
    g += rng.normal(0, 2, size=g.shape)
    return np.clip(np.round(g), 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--model", default="models/cxas-anatomy-r18")
    ap.add_argument("--out", default="tests/fixtures/default-model")
    args = ap.parse_args()
    st = torch.load(args.ckpt, map_location="cpu")
    model = cxasnet.CxasUNet()
    model.load_state_dict(st["model"])
    model.eval()
    grey = synthetic_chest()
    masks = evaluate.predict_masks(model, grey, st["args"]["size"]).numpy()   # bool [C,H,W]
    packed = np.zeros((H, W), np.uint16)
    for c in range(masks.shape[0]):
        packed |= masks[c].astype(np.uint16) << c
    os.makedirs(args.out, exist_ok=True)
    Image.fromarray(grey, "L").save(os.path.join(args.out, "reference.png"))
    with open(os.path.join(args.out, "reference-masks.bin.gz"), "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as fh:
        fh.write(b"CXREF1" + struct.pack("<3i", W, H, masks.shape[0]) + packed.astype("<u2").tobytes())
    with open(os.path.join(args.model, "model.onnx"), "rb") as fh:
        sha = hashlib.sha256(fh.read()).hexdigest()
    with open(os.path.join(args.out, "reference.json"), "w") as fh:
        json.dump({"labels": list(cxasnet.LABELS), "model_onnx_sha256": sha,
                   "checkpoint": os.path.basename(args.ckpt), "input_size": st["args"]["size"],
                   "pixels_per_class": {n: int(masks[c].sum()) for c, n in enumerate(cxasnet.LABELS)}},
                  fh, indent=1)
        fh.write("\n")
    print({n: int(masks[c].sum()) for c, n in enumerate(cxasnet.LABELS)})


if __name__ == "__main__":
    main()
