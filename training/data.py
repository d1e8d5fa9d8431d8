"""The shared cxr-seg pool: loading at the training resolution, label conventions, split, augmentation.

Targets are 9 class planes (cxasnet.LABELS). Per sample and class, `avail` says whether the source
annotates the class; per pixel, the loss weight may be zero where a source's convention differs:

- wingspan, jsrt: lungs are the visible lung fields (they stop at the heart border). This model follows
  that convention. "lung" = right lung | left lung; "clavicles" = clavicle right | clavicle left (jsrt).
- covid-seg: lungs include the retro-cardiac part and overlap the cardiomediastinum. The lung classes
  (right, left, lung) get zero loss weight inside the expert cardiomediastinum, so only the part of
  the covid lungs outside the mediastinum teaches the model; heart and clavicles are not annotated.
- shenzhen-montgomery: only "lung" (both lungs, no side). Right and left lung are derived from it by
  split_lungs (the lung pixels on the image's left of the mediastinal gap are the right lung). Without
  that, the sides were supervised only outside the lungs, and a model trained that way assigned sides
  at random (often swapped) on images of this kind, while scoring well on "lung".
"""
import csv
import hashlib
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from cxasnet import LABELS, MEAN, STD

C = {name: i for i, name in enumerate(LABELS)}
SOURCE_LABEL = {
    "right-lung": "right lung", "left-lung": "left lung", "lung": "lung", "heart": "heart",
    "clavicle-right": "clavicle right", "clavicle-left": "clavicle left",
    "cardiomediastinum": "cardiomediastinum", "trachea": "trachea",
}
UNIONS = {"lung": ("right lung", "left lung"), "clavicles": ("clavicle right", "clavicle left")}
MODE_NORMAL, MODE_COVID, MODE_LUNG_ONLY = 0, 1, 2
SOURCE_MODE = {"covid-seg": MODE_COVID, "shenzhen-montgomery": MODE_LUNG_ONLY}
VAL_FRACTION = 0.15


def read_index(root):
    with open(os.path.join(root, "index.csv"), newline="") as f:
        return list(csv.DictReader(f))


def split_of(rows, fraction=VAL_FRACTION):
    """Deterministic validation split: per source, the round(fraction*n) ids with the smallest md5."""
    by_source = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r["id"])
    val = set()
    for src, ids in by_source.items():
        ids = sorted(ids, key=lambda i: hashlib.md5(f"{src}/{i}".encode()).hexdigest())
        val.update((src, i) for i in ids[:round(fraction * len(ids))])
    return val


def nearest_index(src, dst):
    """PyTorch/Cxas nearest rule: source index floor(dst_index * src / dst)."""
    return (np.arange(dst) * src) // dst


def load_png(path):
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


def load_sample(root, row, size):
    """Grey image uint8 [size,size], packed targets uint16 [size,size] (bit c = class c), avail [9] bool.
    size=None keeps the stored resolution."""
    src, sid = row["source"], row["id"]
    img = load_png(os.path.join(root, src, "images", sid + ".png"))
    h, w = img.shape
    if size:
        ys, xs = nearest_index(h, size), nearest_index(w, size)
        img = img[ys][:, xs]
    planes = {}
    for lab in row["labels"].split(";"):
        if not lab:
            continue
        m = load_png(os.path.join(root, src, "masks", lab, sid + ".png")) > 127
        if size:
            m = m[ys][:, xs]
        planes[SOURCE_LABEL[lab]] = m
    for union, parts in UNIONS.items():
        if union not in planes and all(p in planes for p in parts):
            planes[union] = planes[parts[0]] | planes[parts[1]]
    packed = np.zeros(img.shape, np.uint16)
    avail = np.zeros(len(LABELS), bool)
    for name, m in planes.items():
        packed |= (m.astype(np.uint16) << C[name])
        avail[C[name]] = True
    return img, packed, avail


def load_pool(root, size, cache=None, log=print):
    """All samples at `size`, as numpy arrays, cached in an .npz when `cache` is given."""
    if cache and os.path.exists(cache):
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files}
    rows = read_index(root)
    val = split_of(rows)
    t = time.time()
    imgs, tgts, avails = [], [], []
    for i, r in enumerate(rows):
        im, tg, av = load_sample(root, r, size)
        imgs.append(im)
        tgts.append(tg)
        avails.append(av)
        if i % 200 == 0:
            log(f"loaded {i}/{len(rows)} ({time.time() - t:.0f}s)")
    pool = {
        "img": np.stack(imgs), "tgt": np.stack(tgts), "avail": np.stack(avails),
        "source": np.array([r["source"] for r in rows]), "id": np.array([r["id"] for r in rows]),
        "val": np.array([(r["source"], r["id"]) in val for r in rows]),
        "mode": np.array([SOURCE_MODE.get(r["source"], MODE_NORMAL) for r in rows], np.int64),
    }
    if cache:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        np.savez(cache, **pool)
    return pool


def unpack(packed):
    """uint16 [B,H,W] tensor -> float [B,9,H,W]."""
    bits = torch.arange(len(LABELS), dtype=torch.int32).view(1, -1, 1, 1)
    return ((packed.to(torch.int32).unsqueeze(1) >> bits) & 1).float()


def split_column(lung):
    """Column between the two lungs of a bool [H,W] lung mask: in the middle 40 % of the width, the centre
    of the run of columns with the fewest lung pixels that lies nearest the image centre."""
    w = lung.shape[-1]
    lo, hi = int(0.3 * w), int(0.7 * w)
    cover = lung[:, lo:hi].sum(dim=0)
    best = cover.min()
    cols = torch.nonzero(cover == best).flatten() + lo
    # runs of equal minimum coverage; take the run nearest the centre, then its middle
    runs, start = [], int(cols[0])
    for a, b in zip(cols[:-1].tolist(), cols[1:].tolist()):
        if b != a + 1:
            runs.append((start, a))
            start = b
    runs.append((start, int(cols[-1])))
    a, b = min(runs, key=lambda r: abs((r[0] + r[1]) / 2 - w / 2))
    return (a + b + 1) // 2


def split_sides(lung):
    """(right lung, left lung) of a bool [H,W] lung mask with both lungs: the lung pixels left of the split
    column (the image's left, the patient's right) and the rest."""
    x = split_column(lung)
    right, left = torch.zeros_like(lung), torch.zeros_like(lung)
    right[:, :x] = lung[:, :x]
    left[:, x:] = lung[:, x:]
    return right, left


def split_lungs(target, avail, mode):
    """For lung-only sources: right and left lung from split_sides of the lung mask. Modifies target and avail
    in place."""
    for b in range(target.shape[0]):
        if mode[b] != MODE_LUNG_ONLY:
            continue
        lung = target[b, C["lung"]] > 0
        if not lung.any():
            continue
        right, left = split_sides(lung)
        target[b, C["right lung"]] = right.float()
        target[b, C["left lung"]] = left.float()
        avail[b, C["right lung"]] = True
        avail[b, C["left lung"]] = True


def loss_weights(target, avail, mode):
    """Per-pixel loss weight [B,9,H,W] and per-(sample, class) Dice mask [B,9]."""
    w = avail.float().view(*avail.shape, 1, 1).expand_as(target).clone()
    dice_ok = avail.float().clone()
    lungs = [C["right lung"], C["left lung"], C["lung"]]
    for b in range(target.shape[0]):
        if mode[b] == MODE_COVID:
            outside = 1 - target[b, C["cardiomediastinum"]]
            for c in lungs:
                w[b, c] *= outside
        elif mode[b] == MODE_LUNG_ONLY and not (avail[b, C["right lung"]] and avail[b, C["left lung"]]):
            neg = 1 - target[b, C["lung"]]
            for c in (C["right lung"], C["left lung"]):
                w[b, c] = neg
                dice_ok[b, c] = 0
    return w, dice_ok


def normalise(grey01):
    """[B,1,H,W] in [0,1] -> [B,3,H,W] ImageNet-normalised (grey copied to R, G, B, as the module does)."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (grey01.expand(-1, 3, -1, -1) - mean) / std


def augment(grey01, target, weight, gen):
    """Random affine (rotation +-8 deg, scale 0.85-1.15, shift +-6 %; together a random crop or pad),
    brightness, contrast, gamma and, with p=0.2, grey-level inversion (the pool's JSRT images are stored
    inverted, lungs bright, while the other sources are bone-bright: the model should not depend on the
    polarity). Never flips: left and right are the patient's."""
    b = grey01.shape[0]
    ang = (torch.rand(b, generator=gen) * 2 - 1) * (8 * np.pi / 180)
    scale = 0.85 + torch.rand(b, generator=gen) * 0.30
    aniso = 1 + (torch.rand(b, generator=gen) * 2 - 1) * 0.05
    shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * 0.06 * 2
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = cos / (scale * aniso)
    theta[:, 0, 1] = -sin / scale
    theta[:, 1, 0] = sin / scale
    theta[:, 1, 1] = cos / (scale / aniso)
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(grey01.shape), align_corners=False)
    grey01 = F.grid_sample(grey01, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    target = F.grid_sample(target, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    # outside the original image: no label information except "not anatomy" for the annotated classes
    weight = F.grid_sample(weight, grid, mode="nearest", padding_mode="border", align_corners=False)
    c = 0.75 + torch.rand(b, 1, 1, 1, generator=gen) * 0.5
    br = (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * 0.1
    m = grey01.mean(dim=(2, 3), keepdim=True)
    grey01 = ((grey01 - m) * c + m + br).clamp(0, 1)
    gamma = torch.exp((torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * np.log(1.5))
    grey01 = grey01.clamp_min(1e-6) ** gamma
    inv = (torch.rand(b, 1, 1, 1, generator=gen) < 0.2).float()
    grey01 = inv * (1 - grey01) + (1 - inv) * grey01
    return grey01, target, weight
