"""Export a trained checkpoint to a Cxas model folder (model.onnx + model.json).

    /usr/bin/python3 training/export.py --ckpt training/runs/r18-320/final.pt \
        --metrics training/runs/r18-320/metrics.json --out models/cxas-anatomy-r18

ONNX: opset 17, one input "input" [N,3,S,S] float (N symbolic), one output "logits" [N,9,S,S];
BatchNorm is folded into the convolutions by the exporter (eval mode, constant folding).
"""
import argparse
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxasnet  # noqa: E402
import data  # noqa: E402

SOURCES = ("wingspan (lung fields and heart, MIT-licensed repository); JSRT with SCR masks (research use only, "
           "redistribution prohibited); covid-seg (COVID-19 image collection, annotations CC BY 4.0, images mixed "
           "terms, many CC BY-NC-SA); NLM Shenzhen and Montgomery (masks CC BY-NC-SA 4.0, Montgomery not to be "
           "shared outside the organisation)")


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=os.path.dirname(os.path.abspath(__file__)),
                                       text=True).strip()
    except Exception:  # noqa: BLE001
        return "unknown"


def command_of(a):
    """The train.py command line that produced a checkpoint with these args."""
    cmd = (f"/usr/bin/python3 training/train.py --data {a['data']} --out {a['out']} --size {a['size']} "
           f"--epochs {a['epochs']} --seed {a['seed']}")
    if a.get("source_weights"):
        cmd += f" --source-weights {a['source_weights']}"
    if a.get("lr") not in (None, 1e-3):
        cmd += f" --lr {a['lr']:g}"
    if a.get("lung_sides"):
        cmd += f" --lung-sides {a['lung_sides']}"
    if a.get("init"):
        cmd += f" --init {a['init']}"
    return cmd


def export(ckpt, out, metrics=None, name="cxas-anatomy-r18", version="1", manifest_only=False, note=None):
    st = torch.load(ckpt, map_location="cpu")
    a = st["args"]
    size = a["size"]
    model = cxasnet.CxasUNet()
    model.load_state_dict(st["model"])
    model.eval()
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "model.onnx")
    dummy = torch.randn(1, 3, size, size)
    if not manifest_only:
        torch.onnx.export(model, dummy, onnx_path, opset_version=17, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
        try:
            import onnx
            m = onnx.load(onnx_path)
            onnx.checker.check_model(m)
            assert len(m.graph.input) == 1 and len(m.graph.output) == 1
        except ImportError:
            pass
    prov = {
        "data": SOURCES,
        "validation split": "deterministic ~15 % of each source (smallest md5 of 'source/id'), never trained on",
        "training command": command_of(a),
        "git commit": git_commit(),
        "seed": str(a["seed"]),
        "epochs": str(len(st.get("history", []))),
        "encoder init": "ImageNet ResNet-18 from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 (ResNet18.onnx)",
        "lung convention": "visible lung fields, stopping at the heart border (wingspan/JSRT); covid-seg lungs were "
                           "trained only outside the cardiomediastinum",
    }
    if a.get("init") and os.path.exists(a["init"]):
        first = torch.load(a["init"], map_location="cpu")
        prov["training command"] = "training/reproduce.sh, which runs two stages"
        prov["stage 1 command"] = command_of(first["args"]) + (
            "" if first["args"].get("lung_sides") else " (trained before --lung-sides existed: as --lung-sides negative)")
        prov["stage 2 command"] = command_of(a)
        prov["epochs"] = f"{len(first.get('history', []))} + {len(st.get('history', []))}"
    if note:
        prov["note"] = note
    if metrics:
        with open(metrics) as fh:
            mt = json.load(fh)
        pc = mt["per_class"]
        prov["validation dice"] = ", ".join(f"{k} {pc[k]['dice']:.3f}" for k in cxasnet.LABELS if k in pc)
        prov["validation hd95 px@512"] = ", ".join(f"{k} {pc[k]['hd95']:.1f}" for k in cxasnet.LABELS
                                                   if k in pc and pc[k]["hd95"] is not None)
        c = mt["ctr"]["all"]
        prov["validation ctr"] = f"median |CTR(pred) - CTR(expert)| {c['median_abs_diff']:.4f} over {c['n']} images"
    manifest = {
        "format": "cxas-model/1",
        "name": name,
        "version": version,
        "description": ("Chest X-ray anatomy segmentation, 9 classes (lungs, heart, clavicles, trachea, "
                        "cardiomediastinum), trained on public research data sets. Research use only; "
                        "not for diagnosis or any clinical use."),
        "architecture": (f"U-Net, ResNet-18 encoder (ImageNet init), bilinear-upsampling decoder with conv-BN-ReLU "
                         f"blocks, logits at stride 2 resized bilinearly to {size}x{size}; sigmoid per class"),
        "input": {"name": "input", "width": size, "height": size, "mean": list(cxasnet.MEAN),
                  "std": list(cxasnet.STD), "resize": "nearest"},
        "output": {"name": "logits", "activation": "sigmoid"},
        "threshold": 0.5,
        "labels": list(cxasnet.LABELS),
        "licence": ("Research use only, not for diagnosis or clinical use. Weights derived from data under "
                    "research-only and non-commercial terms (JSRT, NLM Montgomery/Shenzhen CC BY-NC-SA 4.0, "
                    "COVID-19 image collection); see README.md."),
        "provenance": prov,
        "testOnly": False,
    }
    with open(os.path.join(out, "model.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    mb = os.path.getsize(onnx_path) / 2 ** 20
    print(f"wrote {onnx_path} ({mb:.1f} MiB) and model.json")
    return onnx_path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--metrics")
    ap.add_argument("--name", default="cxas-anatomy-r18")
    ap.add_argument("--version", default="1")
    ap.add_argument("--note", help="free text for provenance (e.g. how the run was resumed)")
    ap.add_argument("--manifest-only", action="store_true", help="rewrite model.json only")
    args = ap.parse_args()
    export(args.ckpt, args.out, args.metrics, args.name, args.version, args.manifest_only, args.note)


if __name__ == "__main__":
    main()
