"""Train the Cxas anatomy model (ResNet-18 U-Net, 9 sigmoid classes) on the shared cxr-seg pool.

    /usr/bin/python3 training/train.py --data /work/shared/data/cxr-seg --out training/runs/r18-320 \
        --size 320 --epochs 15 --seed 1234 [--resume]
    /usr/bin/python3 training/train.py --smoke      # CI: a few steps on synthetic data, loss must fall

Checkpoints: <out>/last.pt after every epoch (and every --ckpt-steps steps); --resume continues from it.
The validation split (data.split_of) is never trained on.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxasnet  # noqa: E402
import data  # noqa: E402

RESNET18_ONNX = os.path.expanduser(
    "~/.nuget/packages/microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx")
# default sampling weight of each source per epoch (the lung-only source is 60 % of the pool; covid-seg,
# 5 % of the pool, is the only source of trachea and cardiomediastinum, so it is drawn more often)
SOURCE_WEIGHT = "shenzhen-montgomery=0.26,wingspan=0.26,jsrt=0.26,covid-seg=0.22"


def parse_weights(text):
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        out[name.strip()] = float(value)
    return out


def masked_loss(logits, target, weight, dice_ok):
    """BCE weighted per pixel + soft Dice over the (sample, class) pairs a source annotates."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    bce = (bce * weight).sum() / weight.sum().clamp_min(1.0)
    p = torch.sigmoid(logits) * weight
    t = target * weight
    inter = (p * t).sum(dim=(2, 3))
    den = p.sum(dim=(2, 3)) + t.sum(dim=(2, 3))
    dice = 1 - (2 * inter + 1) / (den + 1)
    dice = (dice * dice_ok).sum() / dice_ok.sum().clamp_min(1.0)
    return bce + dice


def batch_tensors(pool, idx, gen, train, split_sides=True):
    grey = torch.from_numpy(pool["img"][idx]).float().unsqueeze(1) / 255.0
    target = data.unpack(torch.from_numpy(pool["tgt"][idx].astype(np.int32)))
    avail = torch.from_numpy(pool["avail"][idx]).clone()
    if split_sides:
        data.split_lungs(target, avail, pool["mode"][idx])
    weight, dice_ok = data.loss_weights(target, avail, pool["mode"][idx])
    if train:
        grey, target, weight = data.augment(grey, target, weight, gen)
    return data.normalise(grey), target, weight, dice_ok


def epoch_order(pool, train_idx, n, seed, epoch, weights):
    rng = np.random.default_rng([seed, epoch])
    src = pool["source"][train_idx]
    p = np.array([weights.get(s, 0.1) / (src == s).sum() for s in src])
    return rng.choice(train_idx, size=n, replace=True, p=p / p.sum())


def quick_val(model, pool, val_idx, bs=16):
    """Mean Dice per class at the training resolution (annotated pairs only) on every 4th validation
    image; for progress logs only (evaluate.py gives the real numbers)."""
    val_idx = val_idx[::4]
    model.eval()
    inter = np.zeros(len(cxasnet.LABELS))
    den = np.zeros(len(cxasnet.LABELS))
    dices = [[] for _ in cxasnet.LABELS]
    with torch.no_grad():
        for s in range(0, len(val_idx), bs):
            idx = val_idx[s:s + bs]
            x, t, w, ok = batch_tensors(pool, idx, None, False)
            pr = (model(x) > 0).float()
            for b in range(len(idx)):
                for c in range(len(cxasnet.LABELS)):
                    if ok[b, c] and pool["mode"][idx[b]] == data.MODE_NORMAL:
                        i = (pr[b, c] * t[b, c]).sum().item()
                        d = (pr[b, c].sum() + t[b, c].sum()).item()
                        dices[c].append(1.0 if d == 0 else 2 * i / d)
    model.train()
    return {name: (float(np.mean(d)) if d else None) for name, d in zip(cxasnet.LABELS, dices)}


def save_ckpt(path, model, opt, sched, epoch, step, args, history):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                "epoch": epoch, "step": step, "args": vars(args), "history": history,
                "torch_rng": torch.get_rng_state()}, tmp)
    os.replace(tmp, path)


def make_sched(opt, total_steps, warmup):
    def f(step):
        if step < warmup:
            return (step + 1) / warmup
        prog = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * prog))
    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def train(args):
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log_f = open(os.path.join(args.out, "train.log"), "a")

    def log(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log_f.write(line + "\n")
        log_f.flush()

    pool = data.load_pool(args.data, args.size, os.path.join(os.path.dirname(args.out.rstrip("/")),
                                                             f"cache_{args.size}.npz"), log)
    train_idx = np.flatnonzero(~pool["val"])
    val_idx = np.flatnonzero(pool["val"])
    log(f"pool {len(pool['val'])}: train {len(train_idx)}, val {len(val_idx)}")

    model = cxasnet.CxasUNet()
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu")["model"])
        log(f"weights initialised from {args.init} (fine-tuning)")
    elif os.path.exists(args.imagenet):
        n = cxasnet.load_imagenet_onnx(model.encoder, args.imagenet)
        log(f"encoder initialised from {args.imagenet} ({n} conv+BN pairs)")
    elif not args.resume:
        raise SystemExit(f"ImageNet weights {args.imagenet} not found (see training/README.md)")
    enc_params = list(model.encoder.parameters())
    enc_ids = {id(p) for p in enc_params}
    dec_params = [p for p in model.parameters() if id(p) not in enc_ids]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": args.lr * args.enc_lr_mult},
                             {"params": dec_params, "lr": args.lr}], weight_decay=1e-4)
    steps_per_epoch = args.samples_per_epoch // args.batch
    sched = make_sched(opt, steps_per_epoch * args.epochs, warmup=min(100, steps_per_epoch))
    start_epoch, step, history = 0, 0, []
    ckpt = os.path.join(args.out, "last.pt")
    if args.resume and os.path.exists(ckpt):
        st = torch.load(ckpt, map_location="cpu")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        start_epoch, step, history = st["epoch"], st["step"], st["history"]
        torch.set_rng_state(st["torch_rng"])
        log(f"resumed from {ckpt}: epoch {start_epoch}, step {step}")
    model.train()
    for epoch in range(start_epoch, args.epochs):
        order = epoch_order(pool, train_idx, steps_per_epoch * args.batch, args.seed, epoch,
                            parse_weights(args.source_weights))
        t0, run = time.time(), []
        first = step - epoch * steps_per_epoch  # > 0 only when resuming inside an epoch
        for s in range(max(0, first), steps_per_epoch):
            idx = np.sort(order[s * args.batch:(s + 1) * args.batch])
            gen = torch.Generator().manual_seed(args.seed * 1000003 + step)  # per step: resumable
            x, t, w, ok = batch_tensors(pool, idx, gen, True, args.lung_sides == "split")
            loss = masked_loss(model(x), t, w, ok)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            run.append(loss.item())
            if step % args.log_every == 0:
                log(f"epoch {epoch} step {step} loss {np.mean(run[-args.log_every:]):.4f} "
                    f"lr {sched.get_last_lr()[1]:.2e} {(time.time() - t0) / len(run):.2f}s/batch")
            if args.ckpt_steps and step % args.ckpt_steps == 0:
                save_ckpt(ckpt, model, opt, sched, epoch, step, args, history)
        qv = quick_val(model, pool, val_idx)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(run)) if run else None, "val_dice": qv,
                        "seconds": time.time() - t0})
        log(f"epoch {epoch + 1}/{args.epochs} done in {time.time() - t0:.0f}s, loss {history[-1]['loss']}, "
            f"val dice {json.dumps({k: round(v, 4) for k, v in qv.items() if v is not None})}")
        save_ckpt(ckpt, model, opt, sched, epoch + 1, step, args, history)
    torch.save({"model": model.state_dict(), "args": vars(args), "history": history},
               os.path.join(args.out, "final.pt"))
    log("done")


def smoke(args):
    """A few optimisation steps on two synthetic 64x64 'chests'; asserts that the loss falls."""
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    n, s = 2, 64
    yy, xx = torch.meshgrid(torch.arange(s).float(), torch.arange(s).float(), indexing="ij")
    grey = torch.full((n, 1, s, s), 0.8)
    target = torch.zeros(n, len(cxasnet.LABELS), s, s)
    for b in range(n):
        r = ((xx - 20 - b) / 9) ** 2 + ((yy - 30) / 16) ** 2 < 1
        l_ = ((xx - 44 + b) / 9) ** 2 + ((yy - 30) / 16) ** 2 < 1
        h = ((xx - 34) / 8) ** 2 + ((yy - 44) / 7) ** 2 < 1
        for c, m in (("right lung", r), ("left lung", l_), ("lung", r | l_), ("heart", h)):
            target[b, data.C[c]] = m.float()
        grey[b, 0][r | l_] = 0.2
        grey[b, 0][h] = 0.9
    avail = torch.zeros(n, len(cxasnet.LABELS), dtype=torch.bool)
    avail[:, [data.C[c] for c in ("right lung", "left lung", "lung", "heart")]] = True
    mode = np.array([data.MODE_NORMAL, data.MODE_NORMAL])
    w, ok = data.loss_weights(target, avail, mode)
    x = data.normalise(grey)
    model = cxasnet.CxasUNet()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(args.smoke_steps):
        loss = masked_loss(model(x), target, w, ok)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print("smoke losses:", " ".join(f"{v:.4f}" for v in losses))
    # augmentation keeps shapes and never mirrors (a left-only mark stays on the left)
    ga, ta, wa = data.augment(grey, target, w, torch.Generator().manual_seed(0))
    assert ga.shape == grey.shape and ta.shape == target.shape and wa.shape == w.shape
    rl = ta[:, data.C["right lung"]]
    assert (rl * (xx < s / 2)).sum() > 4 * (rl * (xx >= s / 2)).sum(), "right lung moved to the image's right"
    # lung-only sources: the sides come from splitting "lung" at the gap (patient's right = image left)
    lo = torch.zeros(1, len(cxasnet.LABELS), s, s)
    lo[0, data.C["lung"]] = target[0, data.C["lung"]]
    av = torch.zeros(1, len(cxasnet.LABELS), dtype=torch.bool)
    av[0, data.C["lung"]] = True
    data.split_lungs(lo, av, np.array([data.MODE_LUNG_ONLY]))
    assert av[0, data.C["right lung"]] and av[0, data.C["left lung"]]
    assert torch.equal(lo[0, data.C["right lung"]], target[0, data.C["right lung"]]), "split: right lung"
    assert torch.equal(lo[0, data.C["left lung"]], target[0, data.C["left lung"]]), "split: left lung"
    assert losses[-1] < 0.8 * losses[0], f"loss did not fall: {losses[0]:.4f} -> {losses[-1]:.4f}"
    print("SMOKE OK")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/work/shared/data/cxr-seg")
    ap.add_argument("--out", default="training/runs/r18-320")
    ap.add_argument("--imagenet", default=os.environ.get("CXAS_RESNET18_ONNX", RESNET18_ONNX))
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--source-weights", default=SOURCE_WEIGHT,
                    help="sampling weight per source, e.g. 'jsrt=0.3,wingspan=0.3' (others 0.1)")
    ap.add_argument("--samples-per-epoch", type=int, default=720)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--enc-lr-mult", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--ckpt-steps", type=int, default=50)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--lung-sides", choices=("split", "negative"), default="split",
                    help="lung-only sources: sides from the lung mask split at the mediastinal gap (default), or "
                         "sides trained only as negatives outside the lungs (how stage 1 of version 2 was trained)")
    ap.add_argument("--init", help="start from this checkpoint's weights (fine-tuning; new optimiser and schedule)")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--smoke-steps", type=int, default=8)
    args = ap.parse_args()
    if args.smoke:
        smoke(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
