"""Checks that the ImageNet ResNet-18 weights from ResNet18.onnx land in the right encoder layers.

Runs the parsed ONNX graph through torch ops (honouring its asymmetric pads) and the encoder with
the mapped weights on the same random input, and compares the stage outputs. Needs ResNet18.onnx
(see training/README.md: fetch_resnet18.sh); skips with exit code 0 and a note when it is absent,
unless --require is given.

    /usr/bin/python3 training/test_encoder_mapping.py [--onnx PATH] [--require]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxasnet  # noqa: E402

DEFAULT = os.path.expanduser(
    "~/.nuget/packages/microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", default=os.environ.get("CXAS_RESNET18_ONNX", DEFAULT))
    ap.add_argument("--require", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(args.onnx):
        print(f"SKIP: {args.onnx} not found")
        return 1 if args.require else 0
    torch.manual_seed(0)
    nodes, inits, input_name = cxasnet.read_onnx_graph(args.onnx)

    # 1. verbatim copy, graph padding: every stage must match the graph.
    enc = cxasnet.ResNet18Encoder(onnx_pads=True).eval()
    n = cxasnet.load_imagenet_onnx(enc, args.onnx, for_module_input=False)
    x = torch.randn(2, 3, 224, 224) * 50
    with torch.no_grad():
        feats = enc(x)
        vals = cxasnet.run_onnx_graph_torch(nodes, inits, input_name, x)
    # stage outputs of the graph: the Relu after each residual Add, last block of each stage
    relu_after_add = []
    adds = {outs[0] for op, ins, outs, a in nodes if op == "Add"}
    for op, ins, outs, a in nodes:
        if op == "Relu" and ins[0] in adds:
            relu_after_add.append(outs[0])
    stage_outs = [relu_after_add[i] for i in (1, 3, 5, 7)]
    first_relu = next(outs[0] for op, ins, outs, a in nodes if op == "Relu")
    worst = 0.0
    for name, mine in zip([first_relu] + stage_outs, feats):
        ref = vals[name]
        assert ref.shape == mine.shape, (name, ref.shape, mine.shape)
        err = (ref - mine).abs().max().item() / (ref.abs().max().item() + 1e-12)
        worst = max(worst, err)
        print(f"{name:28s} {tuple(ref.shape)}  max rel err {err:.2e}")
    assert worst < 1e-4, worst

    # 2. module-input conversion: normalised RGB into the rescaled conv1 == graph on BGR 0..255 minus 255*MEAN.
    enc2 = cxasnet.ResNet18Encoder(onnx_pads=True).eval()
    cxasnet.load_imagenet_onnx(enc2, args.onnx, for_module_input=True)
    rgb01 = torch.rand(1, 3, 224, 224)
    mean = torch.tensor(cxasnet.MEAN).view(1, 3, 1, 1)
    std = torch.tensor(cxasnet.STD).view(1, 3, 1, 1)
    norm = (rgb01 - mean) / std
    bgr = (rgb01 * 255 - mean * 255).flip(1)
    with torch.no_grad():
        mine = enc2(norm)[-1]
        ref = cxasnet.run_onnx_graph_torch(nodes, inits, input_name, bgr)[stage_outs[-1]]
    err = (ref - mine).abs().max().item() / ref.abs().max().item()
    print(f"module-input conversion: max rel err {err:.2e}")
    assert err < 1e-4, err
    print(f"OK: {n} conv+BN pairs mapped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
