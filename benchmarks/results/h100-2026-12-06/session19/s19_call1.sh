#!/usr/bin/env bash
# Issue 14, session 19, call 1, on main with session18/even-l.patch applied (the block kernels
# without step masks where the length is whole chunks, EVEN_L):
#  1. the whole `gpu` suite in four processes (beside the peer's build), timed
#  2. versions.py: main's block file (94cc441) against this, 3 alternating rounds
#  3. the scan and training tables beside mamba_ssm; the 130M LM's row again, and its
#     kernels profiled (ours)
# Carry [".whl", ".peer", ".gpu"]; .gpu/: v_landed.py (main's block file importing
# triton_launch_main), triton_launch_main.py (main's launcher).
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S18=benchmarks/results/h100-2026-12-06/session18
step "gpu suite, four processes"
timeout 180 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider tests 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -4
step "versions"
PYTHONPATH=/tmp/site:$ROOT timeout 150 python3 $S18/versions.py --rounds 3 \
  main=.gpu/v_landed.py this=. 2>&1 | tee "$OUT/versions.md" | tail -7
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
mkdir -p /tmp/o
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out /tmp/o 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 100 python3 -m benchmarks.training --preset all --steps 3 --out /tmp/o 2>&1 | tail -9
cp /tmp/o/scan.md /tmp/o/scan.csv /tmp/o/training.md /tmp/o/training.csv "$OUT/" 2>/dev/null
step "the 130M LM again, 5 steps"
timeout 70 python3 -m benchmarks.training --preset lm-130m --steps 5 2>&1 | tail -5
step "the 130M LM's kernels, ours"
timeout 60 python3 -m benchmarks.training --preset lm-130m --steps 3 --no-peer --profile 20 \
  2>&1 | tee "$OUT/lm130m_profile.txt" | tail -30
step "end"
