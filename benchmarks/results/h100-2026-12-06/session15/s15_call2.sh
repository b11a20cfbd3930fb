#!/usr/bin/env bash
# Issue 14, session 15, call 2, on the host-path commits: the whole gpu suite (alone: no peer
# build beside it), then mamba_ssm built, host_ab.py (main against this checkout), the scan
# table and the training table beside mamba_ssm.
# Carry [".whl", ".peer", ".gpu"]; .gpu/ as in s15_call1.sh.
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
kill $PEER 2>/dev/null; wait $PEER 2>/dev/null
cp .gpu/triton_launch_main.py kernels/
step "gpu suite, -n 4 --dist loadfile"
timeout 200 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests 2>&1 \
  | tail -3
step "mamba_ssm's selective_scan_cuda"
TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=14 timeout 200 python3 -m benchmarks.peer 2>&1 | tail -1
step "host and event time, main against new"
PYTHONPATH=/tmp/site:$ROOT timeout 120 python3 \
  benchmarks/results/h100-2026-12-06/session15/host_ab.py 2>&1 | tee "$OUT/host_ab.md"
step "scan table beside mamba_ssm"
timeout 150 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 110 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "end"
