#!/usr/bin/env bash
# Issue 14, session 12: s12_call1.sh cut down for a budget that eleven failed starts left.
# Runs on main with this folder's block-variants.patch applied (`git apply`).
# Carry [".whl", ".peer", ".gpu"] (as s12_call1.sh). What decides a merge comes first:
#  1. the GPU tests of the block scan and the recomputation (not the whole suite)
#  2. benchmarks/scan.py --block-variants-only (no peer)
#  3. scan_versions: main's block file against this one, 1 round (no peer)
#  4. the scan table beside mamba_ssm, then the training table, as far as the time goes
set -u
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "GPU tests of the block scan and the recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py -k "block or recompute" 2>&1 \
  | tail -3
step "block variants"
MAMBASEQ_PEER_DIR= timeout 90 python3 -m benchmarks.scan --block-variants-only --out "$OUT" \
  2>&1 | tail -8
step "main's block file (baseline) against this one"
MAMBASEQ_PEER_DIR= timeout 100 python3 -m benchmarks.scan_versions \
  .gpu/triton_block_scan_main.py --rounds 1 --out "$OUT/versions" 2>&1 | tail -10
wait $PEER; tail -1 /tmp/peer.log
step "scan table beside mamba_ssm"
timeout 150 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 120 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "end"
