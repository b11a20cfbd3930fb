#!/usr/bin/env bash
# Issue 14, session 17, call 3, on the commit that lands the backward's prefetch of B and C
# (the forward as on main).
#  1. GPU tests of the block layout, strided reads, int32 offsets, recomputation (beside the
#     peer's build)
#  2. versions.py: main's block file against this checkout (2 rounds)
#  3. the scan table beside mamba_ssm (no training table: 417 device s were left)
# Carry [".whl", ".peer", ".gpu"]; .gpu/triton_block_scan_main.py and triton_launch_main.py
# from main (17f82e8).
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S17=benchmarks/results/h100-2026-12-06/session17
step "GPU tests: block layout, strided reads, int32 offsets, recomputation"
timeout 120 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py \
  -k "block or strided or int32 or recompute or float64_gpu" 2>&1 | tail -4
step "versions: main against this"
PYTHONPATH=/tmp/site:$ROOT timeout 90 python3 $S17/versions.py --rounds 2 \
  main=.gpu/triton_block_scan_main.py this=. 2>&1 | tee "$OUT/versions.md" | tail -7
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "scan table beside mamba_ssm"
timeout 110 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "end"
