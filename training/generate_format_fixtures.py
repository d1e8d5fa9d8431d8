"""Writes small checkpoints that exercise the storage and pickle variants the importer must read: float16,
bfloat16 and float64 storages, views with offsets and non-contiguous strides (tensors sharing one storage), and
pickle protocols 2 and 4. Every tensor <name> has a float32 contiguous copy <name>__expected beside it.

  python3 training/generate_format_fixtures.py --out tests/fixtures/import
"""

import argparse
import collections
import os

import torch


def tensors():
    g = torch.Generator().manual_seed(5)
    base = torch.randn(6, 8, generator=g)
    items = collections.OrderedDict()
    items["half"] = torch.randn(3, 5, generator=g).half()
    items["bfloat16"] = torch.randn(4, 4, generator=g).bfloat16()
    items["double"] = torch.randn(7, generator=g).double()
    items["base"] = base
    items["transposed"] = base.t()            # strides (1, 8), same storage as base
    items["offset_slice"] = base[2:5, 1:7]    # offset 17, strides (8, 1)
    items["every_other"] = base[:, ::2]       # strides (8, 2)
    items["conv_like"] = torch.randn(2, 3, 3, 3, generator=g).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    out = collections.OrderedDict()
    for name, t in items.items():
        out[name] = t
        out[name + "__expected"] = t.float().contiguous().clone()
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    state = tensors()
    torch.save({"model": state, "epoch": 1}, os.path.join(args.out, "formats_p2.pth"))
    torch.save(state, os.path.join(args.out, "formats_p4.pth"), pickle_protocol=4)


if __name__ == "__main__":
    main()
