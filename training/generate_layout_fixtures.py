"""Writes one network's weights in every checkpoint layout of reference_arch.LAYOUTS, a synthetic radiograph, and
the masks PyTorch's seed pipeline gives for it: the independent truth for the install tests (every layout, served
over loopback HTTP or given as a file, must segment exactly like PyTorch).

  python3 training/generate_layout_fixtures.py --checkpoint tests/fixtures/import/reduced_w16.pth --out DIR

writes DIR/<layout>.pth for each layout, DIR/chest.png (RGB, 300x260) and DIR/chest_masks.npy (bool [C,260,300]).
The weights come from --checkpoint (the reference's format); without it a random network is made (full size, or
--width-div N --classes C for a small one with the same topology).
Needs python3-torch, python3-numpy and python3-pil (Debian packages); only tests use it.
"""

import argparse
import collections
import os

import numpy as np
import torch

from generate_import_fixtures import randomise, reference_masks
from reference_arch import LAYOUTS, ReferenceUNet, layout_object


def load_reference_format(path):
    """ReferenceUNet with the weights of a {'model': {'module.' + key: tensor}} checkpoint; width and classes from its shapes."""
    state = torch.load(path, map_location="cpu")["model"]  # our own fixture
    plain = collections.OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in state.items())
    stem = plain["backbone.backbone.layer0.0.weight"].shape[0]
    classes = plain["head.out.conv.weight"].shape[0]
    model = ReferenceUNet(64 // stem, classes)
    model.load_state_dict(plain, strict=True)
    return model.eval()


def chest(path, w=300, h=260):
    from PIL import Image
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w, 3), 190.0)
    for cx in (0.32, 0.68):
        lung = ((xx - cx * w) / (0.17 * w)) ** 2 + ((yy - 0.5 * h) / (0.33 * h)) ** 2 < 1
        img[lung] = (60, 70, 80)
    heart = ((xx - 0.55 * w) / (0.14 * w)) ** 2 + ((yy - 0.65 * h) / (0.15 * h)) ** 2 < 1
    img[heart] = (170, 160, 150)
    img += np.random.default_rng(7).normal(0, 12, img.shape)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--checkpoint", help="weights in the reference's format; default: a random full-size network")
    parser.add_argument("--layout", action="append", help="only these layouts (repeatable); default all")
    parser.add_argument("--width-div", type=int, default=1, help="random network only: divide every width by this")
    parser.add_argument("--classes", type=int, default=159, help="random network only: number of classes")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.checkpoint:
        model = load_reference_format(args.checkpoint)
    else:
        generator = torch.Generator().manual_seed(20261130)
        # The layers' default initialisation draws from the global generator: seed it too, so the fixture is the same
        # network on every run (the install tests rely on its masks holding the classes the reference CTR needs).
        torch.manual_seed(20261130)
        model = ReferenceUNet(args.width_div, args.classes)
        randomise(model, generator)
    state = model.state_dict()
    names = args.layout or [name for name, _ in LAYOUTS]
    for name in names:
        torch.save(layout_object(state, name), os.path.join(args.out, name + ".pth"))
    image = os.path.join(args.out, "chest.png")
    chest(image)
    masks = reference_masks(model, image)
    np.save(os.path.join(args.out, "chest_masks.npy"), masks)
    print(f"{len(names)} layouts, masks {masks.shape}, positive {masks.mean():.3f}")


if __name__ == "__main__":
    main()
