#!/usr/bin/env bash
# CUDA check and throughput on a machine with an NVIDIA GPU, in one unattended command with a time limit:
#   bench/gpu_check.sh [--model models/<159-class model>] [--images dir] [--seconds 5]
# Needs the .NET SDK (or a prebuilt bench/Cxas.Bench.Gpu/bin/Release), an NVIDIA driver, CUDA 13 and cuDNN 9
# (ONNX Runtime 1.31.0's CUDA provider links libcudart.so.13 and libcublas.so.13).
# LIMIT (seconds, default 540) bounds the whole run. Always checks the default model; add --model for others.
set -u
cd "$(dirname "$0")/.."
LIMIT="${LIMIT:-540}"
DLL=bench/Cxas.Bench.Gpu/bin/Release/net10.0/Cxas.Bench.Gpu.dll
if ! command -v dotnet >/dev/null; then echo "gpu_check: dotnet is not installed here" >&2; exit 3; fi
if [ ! -f "$DLL" ] || [ -n "$(find Cxas.Core bench/Cxas.Bench.Gpu -name '*.cs' -newer "$DLL" 2>/dev/null | head -1)" ]; then
  timeout "$LIMIT" dotnet build -c Release -v q --nologo bench/Cxas.Bench.Gpu >/dev/null || { echo "gpu_check: build failed" >&2; exit 3; }
fi
exec timeout "$LIMIT" dotnet "$DLL" "$@"
