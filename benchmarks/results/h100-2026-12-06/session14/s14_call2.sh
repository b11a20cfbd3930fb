#!/usr/bin/env bash
# Issue 14, session 14, call 2: the short scan's host path (no autograd for a forward without a
# graph, a shared default config, a leaner launch key) and the peer built once.
# Carry [".whl", ".peer", ".gpu"]; .gpu/triton_block_scan_main.py is main's block file:
#   git show main:kernels/triton_block_scan.py > .gpu/triton_block_scan_main.py
#  1. mamba_ssm's selective_scan_cuda built in the background; the GPU tests of the scan, the
#     launcher and the recomputation
#  2. host_profile.py: host time a call, ours beside mamba_ssm, and cProfile
#  3. scan_profile: event, GPU and host time a call at 512, 2K, 8K
#  4. the scan table beside mamba_ssm, 512 to 2^20 and the gated training shapes
#  5. scan_versions: main's block file against this one, 2 rounds, to 64K
#  6. the training table beside mamba_ssm
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "GPU tests: scan, launcher, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/kernels/test_triton_launch.py \
  tests/core/test_recompute.py 2>&1 | tail -3
wait $PEER; tail -1 /tmp/peer.log
step "host profile at 512"
PYTHONPATH=/tmp/site:$ROOT timeout 60 python3 \
  benchmarks/results/h100-2026-12-06/session14/host_profile.py > "$OUT/host_profile.txt" 2>&1
grep "^##\|^#" "$OUT/host_profile.txt"
step "scan_profile"
timeout 50 python3 -m benchmarks.scan_profile --out "$OUT" 2>&1 | sed -n 1,14p
step "scan table beside mamba_ssm"
timeout 150 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "main's block file (baseline) against this one"
timeout 110 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 2 \
  --max-length 65536 --out "$OUT/versions" 2>&1 | tail -10
step "training beside mamba_ssm"
timeout 100 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "end"
