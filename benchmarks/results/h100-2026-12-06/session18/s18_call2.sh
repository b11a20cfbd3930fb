#!/usr/bin/env bash
# Issue 14, session 18, call 2, on the backward's reverse scan in rows (working tree):
#  1. the whole `gpu` suite in four processes (beside the peer's build), timed
#  2. versions.py: main's block file; this; this with the backward capped at 168 registers;
#     this in 1,024-step chunks, the forward in 2 warps; this with the forward loading z
#     before its states (capped at 128 registers)
#  3. the scan and training tables beside mamba_ssm
# Carry [".whl", ".peer", ".gpu"]; .gpu/: triton_block_scan_main.py, triton_launch_main.py
# (main, 5c97084), v_fwdz.py (this + z loaded ahead in the forward).
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S18=benchmarks/results/h100-2026-12-06/session18
step "gpu suite, four processes"
timeout 180 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider tests 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -4
step "versions"
PYTHONPATH=/tmp/site:$ROOT timeout 200 python3 $S18/versions.py --rounds 2 \
  main=.gpu/triton_block_scan_main.py this=. cap168=.@0,168 fwd2w=.+1024,2,4 \
  fwdz=.gpu/v_fwdz.py@128 2>&1 | tee "$OUT/versions.md" | tail -7
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
mkdir -p /tmp/o
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out /tmp/o 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 100 python3 -m benchmarks.training --preset all --steps 3 --out /tmp/o 2>&1 | tail -9
cp /tmp/o/scan.md /tmp/o/scan.csv /tmp/o/training.md /tmp/o/training.csv "$OUT/" 2>/dev/null
step "end"
