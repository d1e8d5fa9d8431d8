#!/usr/bin/env bash
# Rebuild models/cxas-anatomy-r18 (version 2) from the shared pool: one command, about 90 minutes on 2 CPU cores.
#   training/reproduce.sh [/work/shared/data/cxr-seg]
# Stage 1: 15 epochs at 320x320 from ImageNet weights, lung-only sources teaching the sides only outside the lungs.
# Stage 2: 4 epochs of fine-tuning from stage 1 at a lower learning rate, the sides of lung-only sources now taken
# from their lung masks split at the mediastinal gap. Both stages resume after an interruption (rerun the script).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:-/work/shared/data/cxr-seg}"
runs="$here/runs"
py=/usr/bin/python3
onnx="$("$here/fetch_resnet18.sh" | tail -1)"
[ -f "$runs/r18-320/final.pt" ] || \
  CXAS_RESNET18_ONNX="$onnx" $py "$here/train.py" --data "$data" --out "$runs/r18-320" --size 320 --epochs 15 \
    --seed 1234 --lung-sides negative --resume
cp -n "$runs/r18-320/final.pt" "$runs/r18-320-stage1.pt"
[ -f "$runs/r18-320-ft/final.pt" ] || \
  $py "$here/train.py" --data "$data" --out "$runs/r18-320-ft" --size 320 --epochs 4 --lr 3e-4 --seed 1235 \
    --init "$runs/r18-320-stage1.pt" --resume
$py "$here/evaluate.py" --ckpt "$runs/r18-320-ft/final.pt" --data "$data" --out "$runs/r18-320-ft/metrics.json"
$py "$here/export.py" --ckpt "$runs/r18-320-ft/final.pt" --metrics "$runs/r18-320-ft/metrics.json" \
  --out "$here/../models/cxas-anatomy-r18" --version 2
$py "$here/make_reference_fixture.py" --ckpt "$runs/r18-320-ft/final.pt" --model "$here/../models/cxas-anatomy-r18" \
  --out "$here/../tests/fixtures/default-model"
