#!/usr/bin/env bash
# Issue 14, session 16, call 3, on branch s16 with VEC computed inside the kernels (same SASS
# as call 2's by benchmarks/kernel_stats.py): the block GPU tests, scan_versions against main's
# block file, the scan and training tables beside mamba_ssm.
# Carry [".whl", ".peer", ".gpu"]; .gpu/ as in s16_call1.sh.
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
step "GPU tests: block layout, strided reads, int32 offsets, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py \
  -k "block or strided or int32 or recompute" 2>&1 | tail -3
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "scan_versions against main's block file"
timeout 120 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 3 \
  --out "$OUT" 2>&1 | tail -9
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 90 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "end"
