#!/usr/bin/env bash
# Issue 14, session 15, call 3: the block layout's programs ordered batch row fastest (grid
# (batch, dim)), so the programs running at once spread their dB, dC atomics over the batch
# rows (mamba_ssm's grid order), against bfc922e's file (channel fastest), and
# against a file with only the backward so ordered.
# Run on main bfc922e with session15/batch-fastest-grid.patch applied. Carry [".whl", ".peer",
# ".gpu"]:
#   git show bfc922e:kernels/triton_block_scan.py > .gpu/triton_block_scan_host.py
#   .gpu/triton_block_scan_bwdonly.py: bfc922e's file with session15/
#     batch-fastest-backward-only.patch applied (only the backward's grid (batch, dim))
#  1. mamba_ssm built in the background; the GPU tests of the scan and the recomputation
#  2. scan_versions against the channel-fastest file, 3 rounds, to 8K and the gated shapes
#  3. scan_versions against the backward-only file, likewise
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "GPU tests: scan, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py 2>&1 | tail -3
wait $PEER; tail -1 /tmp/peer.log
step "batch-fastest against channel-fastest (s15-host)"
timeout 150 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_host.py --rounds 3 \
  --max-length 8192 --out "$OUT/vs_host" 2>&1 | tail -8
step "batch-fastest against backward-only batch-fastest"
timeout 150 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_bwdonly.py --rounds 3 \
  --max-length 8192 --out "$OUT/vs_bwdonly" 2>&1 | tail -8
step "end"
