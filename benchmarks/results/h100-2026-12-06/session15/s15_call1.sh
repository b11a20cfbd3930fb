#!/usr/bin/env bash
# Issue 14, session 15, call 1: the fwd+bwd host path (one zeroed buffer by views, flags and
# B/C strides kept from the forward, no same-dtype conversions, the launch choice cached a
# config and length, a launch key by C-level maps that tells argument types apart).
# Carry [".whl", ".peer", ".gpu"]; .gpu/ holds main's block file importing main's launcher:
#   git show main:kernels/triton_block_scan.py | sed 's/^from .triton_launch import Launcher$/
#     from .triton_launch_main import Launcher/' > .gpu/triton_block_scan_main.py
#   git show main:kernels/triton_launch.py > .gpu/triton_launch_main.py
#  1. mamba_ssm's selective_scan_cuda built in the background; the GPU tests of the scan, the
#     launcher and the recomputation
#  2. host_ab.py: host us at 512 and event ms 512 .. 32K, main / new / mamba_ssm
#  3. the scan table beside mamba_ssm, 512 to 2^20 and the gated training shapes
#  4. scan_versions: main's block file against this one, 3 rounds, to 64K
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
step "GPU tests: scan, launcher, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/kernels/test_triton_launch.py \
  tests/core/test_recompute.py 2>&1 | tail -3
wait $PEER; tail -1 /tmp/peer.log
step "host and event time, main against new"
timeout 120 python3 benchmarks/results/h100-2026-12-06/session15/host_ab.py 2>&1 \
  | tee "$OUT/host_ab.md"
step "scan table beside mamba_ssm"
timeout 150 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "main's block file (baseline) against this one"
timeout 120 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 3 \
  --max-length 65536 --out "$OUT/versions" 2>&1 | tail -10
step "end"
