#!/usr/bin/python3
"""Whole-process benchmark: Cxas (fp32 and int8) against the reference pipeline in PyTorch, on the same machine and images.

One command (from the repository root; Debian python3-torch, python3-numpy, python3-pil and the .NET SDK):

    /usr/bin/python3 bench/side_by_side.py [--checkpoint random159.pth] [--images 6] [--runs 2] [--work /tmp/cxas-side-by-side]
        [--classes native,avx2]

What it does:
1. Inputs: N real radiographs (samples/, then ../shared/data/cxr-seg when present) upscaled to 2048x2048 8-bit PNGs.
2. The 159-class network: the checkpoint given, else a random-weight full-width one made by
   training/generate_import_fixtures.py (the reference architecture, training/reference_arch.py).
3. Cxas models from that checkpoint: fp32 by Import-CxasModel's code (ModelImporter), int8 by -Precision Int8 with
   calibration on 4 real radiographs. A random-weight network's logits sit near 0 everywhere, so its int8 variant
   misses the agreement bound; the benchmark imports it with the bound lowered (speed only) and prints the figures.
4. Runs, interleaved (reference, Cxas fp32, Cxas int8, rotating the order each round), each a separate process timed
   from start to exit, peak memory from the kernel (wait4 ru_maxrss):
   - reference: PIL decode (RGB), /255, ImageNet normalisation, nearest interpolate to 512x512, the network, sigmoid >
     0.5, nearest back to the image size, 159 PNG masks per image (PIL);
   - Cxas: bench/Cxas.Bench over the folder (decode, nearest resize, ONNX Runtime, threshold, 159 PNG masks per image).
5. The default 9-class model: Cxas.Bench images/s on 2048x2048 radiographs with 9 PNG masks, fp32 and int8.
Prints every run with the load average, medians, ratios and the targets.
--classes runs every process (the reference's too: PyTorch picks its kernels by CPUID as well) under each x64 class
given, shown by masking CPUID (tests/CpuClass/with_class.sh: avx2, avx512, avxvnni, native), interleaved in each round;
the figures of a masked class are that class's kernels on this processor's cores, not an older processor.
--runs 0 only prepares the images and models.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOTNET_OUT = "bin/Release/net10.0"
WITH_CLASS = os.path.join(ROOT, "tests", "CpuClass", "with_class.sh")
CLASS_NAMES = {"avx2": "AVX2", "avx512": "AVX-512", "avxvnni": "AVX-VNNI"}
# Issue 16's targets against the reference, and issue 23's for a processor with AVX2 only.
TARGETS = {"avx2": {"cxas-fp32": 4.0, "cxas-int8": 7.0}}
DEFAULT_TARGETS = {"cxas-fp32": 3.5, "cxas-int8": 6.0}


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_description():
    """'AMD EPYC (AVX-512 VNNI)': the model name and the instruction class from /proc/cpuinfo's flags, classified as
    Cxas.Models.CpuClass.ClassifyFlags does (int8 speed and, before the 7-bit weights, int8 results depend on it)."""
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    flags = set(info.get("flags", "").split())
    if "avx2" not in flags:
        cls = "below AVX2"
    elif {"avx512f", "avx512dq", "avx512bw", "avx512vl"} <= flags:
        cls = "AVX-512 VNNI" if "avx512_vnni" in flags else "AVX-512"
    else:
        cls = "AVX-VNNI" if "avx_vnni" in flags else "AVX2"
    return f"{info.get('model name', 'unknown CPU')} ({cls})"


def class_description(cls):
    """The CPU line for a class: this processor's own, or the class masked CPUID shows on it."""
    if cls == "native":
        return cpu_description()
    return f"{cpu_description().rsplit(' (', 1)[0]} ({CLASS_NAMES[cls]} shown by masking CPUID; the processor: {cpu_description()})"


def under(cls, cmd):
    """cmd run under a CPU class (nothing added for native)."""
    return cmd if cls == "native" else [WITH_CLASS, cls] + cmd


def timed(cmd, log):
    """Runs cmd as its own process; returns (wall seconds, peak RSS bytes, stdout)."""
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(log) as f:
        text = f.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-3000:]}")
    return wall, usage.ru_maxrss * 1024, text


def real_radiographs(n):
    """n real radiographs: samples/ first, then ../shared/data/cxr-seg taking its sources in turn."""
    lists = [sorted(os.path.join(ROOT, "samples", f) for f in os.listdir(os.path.join(ROOT, "samples")) if f.endswith(".png"))]
    shared = os.path.join(ROOT, "..", "shared", "data", "cxr-seg")
    for source in ("jsrt", "shenzhen-montgomery", "covid-seg", "wingspan"):
        d = os.path.join(shared, source, "images")
        if os.path.isdir(d):
            lists.append(sorted(os.path.join(d, f) for f in os.listdir(d)))
    found = lists[0] + [path for group in zip(*lists[1:]) for path in group] if len(lists) > 1 else lists[0]
    if len(found) < n:
        raise SystemExit(f"only {len(found)} radiographs found; need {n}")
    return found[:n]


def prepare_images(folder, sources, size):
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    for i, src in enumerate(sources):
        path = os.path.join(folder, f"cxr{i:03d}.png")
        if not os.path.exists(path):
            with Image.open(src) as im:
                im.convert("L").resize((size, size), Image.BICUBIC).save(path)
    return folder


def reference_run(args):
    """The reference pipeline in PyTorch over a folder (runs in its own process)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    sys.path.insert(0, os.path.join(ROOT, "training"))
    from reference_arch import ReferenceUNet
    torch.set_num_threads(os.cpu_count())
    state = torch.load(args.checkpoint, map_location="cpu")
    state = state.get("model", state)
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    classes = state["head.out.conv.weight"].shape[0]
    model = ReferenceUNet(1, classes)
    model.load_state_dict(state)
    model.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    os.makedirs(args.out, exist_ok=True)
    for name in sorted(os.listdir(args.input)):
        rgb = np.asarray(Image.open(os.path.join(args.input, name)).convert("RGB"), dtype=np.float32) / np.float32(255)
        x = (torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0) - mean) / std
        h, w = x.shape[2], x.shape[3]
        x = F.interpolate(x, size=(512, 512), mode="nearest")
        with torch.no_grad():
            masks = (torch.sigmoid(model(x)) > 0.5).float()
        masks = F.interpolate(masks, size=(h, w), mode="nearest")[0].numpy().astype(np.uint8) * 255
        stem = os.path.splitext(name)[0]
        for c in range(masks.shape[0]):
            Image.fromarray(masks[c]).save(os.path.join(args.out, f"{stem}_{c:03d}.png"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint")
    p.add_argument("--images", type=int, default=6)
    p.add_argument("--default-images", type=int, default=24)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--work", default="/tmp/cxas-side-by-side")
    p.add_argument("--skip-reference", action="store_true")
    p.add_argument("--classes", default="native", help="comma-separated CPU classes: native, avx2, avx512, avxvnni")
    p.add_argument("--reference-run", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.reference_run:
        reference_run(args)
        return

    os.makedirs(args.work, exist_ok=True)
    classes = args.classes.split(",")
    for cls in classes:
        if cls != "native":
            check = subprocess.run([WITH_CLASS, cls, "true"], capture_output=True, text=True)
            if check.returncode != 0:
                raise SystemExit(f"class {cls} cannot be shown here: {check.stderr.strip()}")
    print(f"side-by-side benchmark: {cpu_description()}, {os.cpu_count()} logical CPUs, load average {load_average()}", flush=True)
    for cls in classes:
        print(f"  class {cls}: {class_description(cls)}", flush=True)
    subprocess.run(["dotnet", "build", "-c", "Release", "-v", "q", "--nologo", os.path.join(ROOT, "bench", "Cxas.Bench")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["dotnet", "build", "-c", "Release", "-v", "q", "--nologo", os.path.join(ROOT, "bench", "Cxas.Bench.Precision")], check=True, stdout=subprocess.DEVNULL)
    bench = os.path.join(ROOT, "bench", "Cxas.Bench", DOTNET_OUT, "Cxas.Bench.dll")
    precision = os.path.join(ROOT, "bench", "Cxas.Bench.Precision", DOTNET_OUT, "Cxas.Bench.Precision.dll")

    radiographs = real_radiographs(max(args.images, args.default_images) + 16)
    images = prepare_images(os.path.join(args.work, f"images-{args.images}"), radiographs[: args.images], args.size)
    default_images = prepare_images(os.path.join(args.work, f"images-default-{args.default_images}"), radiographs[: args.default_images], args.size)
    calibration = os.path.join(args.work, "calibration")
    os.makedirs(calibration, exist_ok=True)
    for i, src in enumerate(radiographs[-16:]):
        dst = os.path.join(calibration, f"cal{i:02d}.png")
        if not os.path.exists(dst):
            shutil.copyfile(src, dst)

    # The 159-class int8 model is imported for its speed only (see 3. above): 4 calibration images keep the import short.
    calibration159 = os.path.join(args.work, "calibration-159")
    os.makedirs(calibration159, exist_ok=True)
    for name in sorted(os.listdir(calibration))[:4]:
        if not os.path.exists(os.path.join(calibration159, name)):
            shutil.copyfile(os.path.join(calibration, name), os.path.join(calibration159, name))

    checkpoint = args.checkpoint
    if checkpoint is None:
        checkpoint = os.path.join(args.work, "random159", "random159.pth")
        if not os.path.exists(checkpoint):
            print("making a random-weight 159-class checkpoint (training/generate_import_fixtures.py) ...", flush=True)
            subprocess.run([sys.executable, os.path.join(ROOT, "training", "generate_import_fixtures.py"), "--out", os.path.dirname(checkpoint),
                            "--name", "random159", "--size", "64x64"], check=True, stdout=subprocess.DEVNULL)
    models = {}
    for kind, extra in (("fp32", []), ("int8", [calibration159, "0"])):
        d = os.path.join(args.work, f"m159-{kind}")
        if not os.path.exists(os.path.join(d, "model.json")):
            out = subprocess.run(["dotnet", precision, "import", checkpoint, d, kind] + extra, check=True, capture_output=True, text=True).stdout
            print(f"imported {kind}: {out.strip()}", flush=True)
        models[kind] = d
    d8 = os.path.join(args.work, "r18-int8")
    if not os.path.exists(os.path.join(d8, "model.json")):
        out = subprocess.run(["dotnet", precision, "import", os.path.join(ROOT, "models", "cxas-anatomy-r18"), d8, "int8", calibration],
                             check=True, capture_output=True, text=True).stdout
        print(f"default model int8: {out.strip()}", flush=True)

    if args.runs == 0:
        return
    kinds = (["reference"] if not args.skip_reference else []) + ["cxas-fp32", "cxas-int8"]
    runs = [(cls, kind) for cls in classes for kind in kinds]
    walls = {k: [] for k in runs}
    peaks = {k: [] for k in runs}
    print(f"\n159-class network, {args.images} images {args.size}x{args.size} -> 159 PNG masks each, {args.runs} interleaved rounds", flush=True)
    for r in range(args.runs):
        order = runs[r % len(runs):] + runs[: r % len(runs)]
        for cls, kind in order:
            out = os.path.join(args.work, "out-" + kind)
            shutil.rmtree(out, ignore_errors=True)
            if kind == "reference":
                cmd = [sys.executable, os.path.abspath(__file__), "--reference-run", "--checkpoint", checkpoint, "--input", images, "--out", out]
            else:
                cmd = ["dotnet", bench, images, "--model", models[kind.split("-")[1]], "--out", out, "--no-warmup", "--keep"]
            load = load_average()
            wall, peak, _ = timed(under(cls, cmd), os.path.join(args.work, f"{cls}-{kind}.log"))
            files = sum(len(f) for _, _, f in os.walk(out))
            shutil.rmtree(out, ignore_errors=True)
            walls[cls, kind].append(wall)
            peaks[cls, kind].append(peak)
            print(f"  round {r + 1} {cls:8s} {kind:10s} {wall:7.1f} s  peak {peak / 1e9:5.2f} GB  {files} masks  (load average before: {load})", flush=True)

    med = {k: statistics.median(v) for k, v in walls.items()}
    top = {k: max(v) for k, v in peaks.items()}
    for cls in classes:
        print(f"\nsummary, {class_description(cls)} (median wall time, largest peak):")
        for k in kinds:
            print(f"  {k:10s} {med[cls, k]:7.1f} s  {top[cls, k] / 1e9:5.2f} GB")
        if "reference" in kinds:
            for k, target in TARGETS.get(cls, DEFAULT_TARGETS).items():
                ratio = med[cls, "reference"] / med[cls, k]
                print(f"  reference / {k}: {ratio:4.2f}x (target {target}x: {'met' if ratio >= target else 'NOT met'})")
        for k in ("cxas-fp32", "cxas-int8"):
            print(f"  {k} peak {top[cls, k] / 1e9:.2f} GB (target 1.5 GB: {'met' if top[cls, k] <= 1.5e9 else 'NOT met'})")

    print(f"\ndefault model, {args.default_images} images {args.size}x{args.size} -> 9 PNG masks each (Cxas.Bench, after one warm-up image):", flush=True)
    for kind, d in (("fp32", os.path.join(ROOT, "models", "cxas-anatomy-r18")), ("int8", d8)):
        for cls in classes:
            out = os.path.join(args.work, "out-default-" + kind)
            shutil.rmtree(out, ignore_errors=True)
            load = load_average()
            wall, peak, text = timed(under(cls, ["dotnet", bench, default_images, "--model", d, "--out", out]), os.path.join(args.work, f"default-{cls}-{kind}.log"))
            shutil.rmtree(out, ignore_errors=True)
            line = next((l for l in text.splitlines() if l.startswith("images:")), "")
            rate = float(line.split("->")[1].split()[0]) if "->" in line else 0.0
            print(f"  {cls} {kind}: {line.strip()}; process {wall:.1f} s, peak {peak / 1e9:.2f} GB (load average before: {load}); target 8 images/s: {'met' if rate >= 8 else 'NOT met'}", flush=True)
    print(f"load average at end {load_average()}")


if __name__ == "__main__":
    main()
