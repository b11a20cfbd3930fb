#!/usr/bin/env bash
# Issue 14, session 12, call 1: the block scan's forward in two states a scan and its backward
# Runs on main with this folder's block-variants.patch applied (`git apply`).
# in two channels a program. Carry [".whl", ".peer", ".gpu"]; .gpu/triton_block_scan_main.py
# is main's block file:  git show main:kernels/triton_block_scan.py > .gpu/triton_block_scan_main.py
#  1. mamba_ssm's selective_scan_cuda built in the background; the whole `gpu` suite, -n 4
#  2. benchmarks/scan.py --block-variants-only: each variant off and on, same process
#  3. scan_versions: main's block file against this one, 1 round
#  4. the scan table beside mamba_ssm, 512 to 2^20 and the gated training shapes
#  5. the training table beside mamba_ssm
set -u
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "gpu suite, -n 4 --dist loadfile"
timeout 220 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests 2>&1 \
  | tail -4
step "block variants (no peer: it would wait for the build)"
MAMBASEQ_PEER_DIR= timeout 100 python3 -m benchmarks.scan --block-variants-only --out "$OUT" \
  2>&1 | tail -8
wait $PEER; tail -1 /tmp/peer.log
step "main's block file (baseline) against this one"
timeout 100 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 1 \
  --out "$OUT/versions" 2>&1 | tail -10
step "scan table beside mamba_ssm"
timeout 150 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 120 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "end"
