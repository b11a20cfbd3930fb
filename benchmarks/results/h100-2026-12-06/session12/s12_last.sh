#!/usr/bin/env bash
# Issue 14, session 12: the last try, for about 190 s of command after fifteen failed starts.
# Runs on main with this folder's block-variants.patch applied (`git apply`).
# Carry [".whl", ".gpu"]. No mamba_ssm (the build device_setup.sh starts is stopped): the GPU
# tests of the block scan, then its kernel variants off and on side by side, then main's
# block file against this one to 64K.
set -u
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
kill $PEER 2>/dev/null          # mamba_ssm's build would not finish in time
export MAMBASEQ_PEER_DIR=
step "GPU tests of the block scan"
timeout 100 python3 -m pytest -m gpu -q -n 8 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py -k "block" 2>&1 | tail -3
step "block variants"
timeout 60 python3 -m benchmarks.scan --block-variants-only --out "$OUT" 2>&1 | tail -8
step "main's block file (baseline) against this one, to 64K"
timeout 60 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 1 \
  --max-length 65536 --out "$OUT/versions" 2>&1 | tail -10
step "end"
