"""Validation metrics of a trained checkpoint, computed the way the module predicts.

Each validation image (512x512) is nearest-resized to the model input, normalised, run, thresholded
(logit > 0, i.e. sigmoid > 0.5) and the masks nearest-resized back to 512x512, then compared with
the expert masks at 512x512:
- Dice, IoU per (source, class) the source annotates, and pooled per class;
- HD95: 95th percentile of the boundary-to-boundary distances in both directions together, in
  pixels at 512 (no spacing is known); over images where both masks are non-empty (the number of
  images where the prediction is empty but the expert mask is not is reported as `empty`);
- covid-seg lungs are also scored outside the expert cardiomediastinum (`... (outside CM)`), since
  this model follows the lung convention of wingspan/jsrt (lungs stop at the heart border);
- sources that annotate only "lung" (shenzhen-montgomery) are also scored for right and left lung against
  the expert lung mask split at the mediastinal gap (data.split_column), `... (split of lung)`: this catches
  a model whose sides are swapped or mixed on such images while its "lung" is right;
- CTR = widest horizontal heart extent / horizontal extent of the union of both lungs, from predicted
  and from expert masks, on sources with heart and both lungs; median |difference|.

    /usr/bin/python3 training/evaluate.py --ckpt training/runs/r18-256/final.pt --out training/runs/r18-256/metrics.json
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxasnet  # noqa: E402
import data  # noqa: E402

LUNGS = ("right lung", "left lung", "lung")


def boundary(m):
    """Pixels of m with a 4-neighbour outside m (image edge counts as outside)."""
    p = torch.nn.functional.pad(m.float()[None, None], (1, 1, 1, 1))[0, 0]
    inner = (p[1:-1, 1:-1] > 0) & (p[:-2, 1:-1] > 0) & (p[2:, 1:-1] > 0) & (p[1:-1, :-2] > 0) & (p[1:-1, 2:] > 0)
    return torch.nonzero(m & ~inner).float()


def hd95(a, b):
    pa, pb = boundary(a), boundary(b)
    if len(pa) == 0 or len(pb) == 0:
        return None

    def directed(p, q):
        out = []
        for s in range(0, len(p), 2048):
            out.append(torch.cdist(p[s:s + 2048], q).min(dim=1).values)
        return torch.cat(out)
    d = torch.cat([directed(pa, pb), directed(pb, pa)])
    return float(torch.quantile(d, 0.95))


def dice_iou(a, b):
    inter = (a & b).sum().item()
    sa, sb = a.sum().item(), b.sum().item()
    if sa + sb == 0:
        return 1.0, 1.0
    return 2 * inter / (sa + sb), inter / (sa + sb - inter)


def width_of(m):
    cols = torch.nonzero(m.any(dim=0))
    return 0 if len(cols) == 0 else int(cols.max() - cols.min() + 1)


def ctr(heart, lungs):
    lw = width_of(lungs)
    return None if lw == 0 else width_of(heart) / lw


def predict_masks(model, grey512, size):
    """grey uint8 [H,W] -> bool [9,H,W]: nearest down to size, model, logit > 0, nearest back up."""
    h, w = grey512.shape
    ys, xs = data.nearest_index(h, size), data.nearest_index(w, size)
    x = torch.from_numpy(grey512[ys][:, xs].astype(np.float32) / 255.0)[None, None]
    with torch.no_grad():
        logits = model(data.normalise(x))[0]
    small = logits > 0
    yb, xb = data.nearest_index(size, h), data.nearest_index(size, w)
    return small[:, yb][:, :, xb]


def summarise(values):
    v = [x for x in values if x is not None]
    return {"mean": float(np.mean(v)) if v else None, "median": float(np.median(v)) if v else None, "n": len(v)}


def evaluate(model, size, root, limit=None, log=print):
    rows = data.read_index(root)
    val = data.split_of(rows)
    rows = [r for r in rows if (r["source"], r["id"]) in val]
    if limit:
        rows = rows[::max(1, len(rows) // limit)][:limit]
    per = {}  # (source, class) -> lists
    ctr_diffs = {}

    def score(src, key, p, g):
        d, j = dice_iou(p, g)
        e = per.setdefault((src, key), {"dice": [], "iou": [], "hd95": [], "empty": 0})
        e["dice"].append(d)
        e["iou"].append(j)
        e["hd95"].append(hd95(p, g))
        if g.any() and not p.any():
            e["empty"] += 1

    t0 = time.time()
    for i, r in enumerate(rows):
        grey, packed, avail = data.load_sample(root, r, None)
        gt = torch.from_numpy(packed.astype(np.int32))
        pred = predict_masks(model, grey, size)
        src = r["source"]
        cm = None
        if avail[data.C["cardiomediastinum"]]:
            cm = ((gt >> data.C["cardiomediastinum"]) & 1).bool()
        if avail[data.C["lung"]] and not avail[data.C["right lung"]]:
            lung = ((gt >> data.C["lung"]) & 1).bool()
            if lung.any():
                for name, g in zip(("right lung", "left lung"), data.split_sides(lung)):
                    score(src, name + " (split of lung)", pred[data.C[name]], g)
        for c, name in enumerate(cxasnet.LABELS):
            if not avail[c]:
                continue
            g = ((gt >> c) & 1).bool()
            p = pred[c]
            score(src, name, p, g)
            if src == "covid-seg" and name in LUNGS and cm is not None:
                score(src, name + " (outside CM)", p & ~cm, g & ~cm)
        if avail[data.C["heart"]] and avail[data.C["right lung"]] and avail[data.C["left lung"]]:
            L = lambda m, n: ((m >> data.C[n]) & 1).bool()  # noqa: E731
            c_gt = ctr(L(gt, "heart"), L(gt, "right lung") | L(gt, "left lung"))
            c_pr = ctr(pred[data.C["heart"]], pred[data.C["right lung"]] | pred[data.C["left lung"]])
            if c_gt is not None:
                ctr_diffs.setdefault(src, []).append(None if c_pr is None else abs(c_pr - c_gt))
        if i % 20 == 0:
            log(f"evaluated {i + 1}/{len(rows)} ({time.time() - t0:.0f}s)")
    out = {"per_source": {}, "per_class": {}, "ctr": {}, "n_images": len(rows), "input_size": size}
    pooled = {}
    for (src, key), e in sorted(per.items()):
        out["per_source"].setdefault(src, {})[key] = {
            "dice": summarise(e["dice"])["mean"], "iou": summarise(e["iou"])["mean"],
            "hd95": summarise(e["hd95"])["mean"], "n": len(e["dice"]), "empty": e["empty"]}
        if "(outside CM)" in key or "(split of lung)" in key or (src == "covid-seg" and key in LUNGS):
            continue  # covid lungs follow another convention: pooled numbers use wingspan/jsrt/shenzhen lungs
        p = pooled.setdefault(key, {"dice": [], "iou": [], "hd95": []})
        for k in p:
            p[k] += e[k]
    for key, p in pooled.items():
        out["per_class"][key] = {"dice": summarise(p["dice"])["mean"], "iou": summarise(p["iou"])["mean"],
                                 "hd95": summarise(p["hd95"])["mean"], "n": len(p["dice"])}
    all_d = []
    for src, diffs in ctr_diffs.items():
        out["ctr"][src] = {"median_abs_diff": summarise(diffs)["median"], "n": len(diffs),
                           "missing": sum(d is None for d in diffs)}
        all_d += diffs
    out["ctr"]["all"] = {"median_abs_diff": summarise(all_d)["median"], "n": len(all_d),
                         "missing": sum(d is None for d in all_d)}
    return out


def markdown(m):
    f = lambda v, d=4: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    lines = ["| class | Dice | IoU | HD95 (px @512) | n |", "| --- | --- | --- | --- | --- |"]
    for name in cxasnet.LABELS:
        if name in m["per_class"]:
            e = m["per_class"][name]
            lines.append(f"| {name} | {f(e['dice'])} | {f(e['iou'])} | {f(e['hd95'], 1)} | {e['n']} |")
    lines += ["", "| source | class | Dice | IoU | HD95 (px @512) | n | empty predictions |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for src, classes in m["per_source"].items():
        for key, e in classes.items():
            lines.append(f"| {src} | {key} | {f(e['dice'])} | {f(e['iou'])} | {f(e['hd95'], 1)} | {e['n']} | "
                         f"{e['empty']} |")
    lines += ["", "| CTR source | median abs diff | n | no prediction |", "| --- | --- | --- | --- |"]
    for src, e in m["ctr"].items():
        lines.append(f"| {src} | {f(e['median_abs_diff'])} | {e['n']} | {e['missing']} |")
    return "\n".join(lines)


def load_model(ckpt):
    st = torch.load(ckpt, map_location="cpu")
    model = cxasnet.CxasUNet()
    model.load_state_dict(st["model"])
    return model.eval(), st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--data", default="/work/shared/data/cxr-seg")
    ap.add_argument("--out")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, st = load_model(args.ckpt)
    m = evaluate(model, st["args"]["size"], args.data, args.limit)
    md = markdown(m)
    print(md)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(m, fh, indent=1)
        with open(os.path.splitext(args.out)[0] + ".md", "w") as fh:
            fh.write(md + "\n")


if __name__ == "__main__":
    main()
