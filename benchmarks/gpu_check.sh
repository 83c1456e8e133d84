#!/usr/bin/env bash
# The GPU checks in one run, for a machine with a CUDA GPU (no network needed: the machine's
# own python3 with a CUDA build of torch, this repository on PYTHONPATH):
#
#     bash benchmarks/gpu_check.sh OUT_DIR
#
# 1. the CUDA paths (tests/test_gpu.py: train fp32/bf16, evaluate, lift, torchrun DDP where
#    there are two GPUs); 2. poselift's speed on the GPU against its straightforward path
#    (benchmarks/speed.py --device cuda: 243-frame training samples/s and inference frames/s,
#    fp32 and bf16, with the fractions of the measured matrix-product rate). Logs and JSON go
#    to OUT_DIR.
set -uo pipefail
out=${1:-runs/gpu_check}
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src:$PWD/benchmarks${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
{ nvidia-smi; "$py" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"; } \
    > "$out/machine.txt" 2>&1
"$py" -m pytest -p no:cacheprovider -o addopts="" -m gpu -q tests/test_gpu.py 2>&1 | tee "$out/tests.log"
tests=${PIPESTATUS[0]}
"$py" benchmarks/speed.py --device cuda --out "$out/speed" 2>&1 | tee "$out/speed.log"
speed=${PIPESTATUS[0]}
echo "tests exit $tests, speed exit $speed" | tee -a "$out/machine.txt"
[ "$tests" = 0 ] && [ "$speed" = 0 ]
