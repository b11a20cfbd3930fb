#!/usr/bin/env bash
# Issue 14, session 10, call 2, on branch s10-candidate (scan-host: the block scan launched
# through kernels/triton_launch.py; merged with recompute-replay and its leak fix). Carry
# [".whl", ".peer", ".gpu"]; .gpu/triton_block_scan_main.py is main's block file (39ab23b):
#   git show main:kernels/triton_block_scan.py > .gpu/triton_block_scan_main.py
#  1. mamba_ssm's selective_scan_cuda built in the background
#  2. the whole `gpu` suite under -n 4 (the README's command)
#  3. scan_versions: main's block layout (Triton's launch path) against this one, 2 rounds
#  4. the training table beside mamba_ssm (the replayed recomputation, leak fixed)
#  5. the scan table beside mamba_ssm, 512 to 64K
#  6. scan_profile: host and GPU time a call at 512, 2K, 8K
set -u
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "gpu suite, -n 4 --dist loadfile"
timeout 200 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests 2>&1 \
  | tail -4
wait $PEER; tail -1 /tmp/peer.log
step "main's block layout (baseline) against this one"
timeout 150 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 2 \
  --out "$OUT/versions" 2>&1 | tail -12
step "training beside mamba_ssm"
timeout 150 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "scan table beside mamba_ssm, 512 to 64K"
timeout 90 python3 -m benchmarks.scan --max-log2 16 --ref-max-log2 9 --out "$OUT" 2>&1 \
  | tail -14
step "scan_profile"
timeout 40 python3 -m benchmarks.scan_profile --out "$OUT" 2>&1 | sed -n 1,15p
step "end"
