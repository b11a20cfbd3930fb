#!/usr/bin/env bash
# Issue 14, session 14, call 3: the block backward's adjoint by a forward scan over the steps
# last to first (C and dy in that order, g back, through shared memory) instead of Triton's
# reverse scan. Carry [".whl", ".peer", ".gpu"]; .gpu/triton_block_scan_main.py is main's
# block file:  git show main:kernels/triton_block_scan.py > .gpu/triton_block_scan_main.py
#  1. mamba_ssm's selective_scan_cuda built in the background; the GPU tests of the scan, the
#     launcher and the recomputation
#  2. scan_versions: main's block file against this one, 2 rounds, 512 to 2^20 and gated
#  3. the scan table beside mamba_ssm
#  4. the training table beside mamba_ssm
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "GPU tests: scan, launcher, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/kernels/test_triton_launch.py \
  tests/core/test_recompute.py 2>&1 | tail -3
wait $PEER; tail -1 /tmp/peer.log
step "main's block file (baseline) against this one"
timeout 170 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 2 \
  --out "$OUT/versions" 2>&1 | tail -10
step "scan table beside mamba_ssm"
timeout 120 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 100 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "end"
