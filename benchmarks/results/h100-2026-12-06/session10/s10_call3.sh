#!/usr/bin/env bash
# Issue 14, session 10, call 3, on branch scan-host-2 (the block scan without autograd when no
# gradient is wanted). Carry [".whl", ".peer", ".gpu"]; .gpu/triton_block_scan_main.py is
# main's block file (4fb6aba, with the launcher):
#   git show main:kernels/triton_block_scan.py > .gpu/triton_block_scan_main.py
#  1. mamba_ssm built in the background; the GPU tests of the block scan and the recomputation
#  2. host_timeline.py: where a short forward+backward's host time goes
#  3. scan_versions: main's block file against this one, 1 round
# Six starts had failed before it, so the call was cut down to fit what was left of the
# budget: no scan table or scan_profile, one round, and only the block scan's and the
# recomputation's GPU tests, not the whole suite.
set -u
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "GPU tests of the block scan, the recomputation and the launcher"
timeout 150 python3 -m pytest -m gpu -q -n 2 --dist loadfile -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py -k "block or recompute" 2>&1 \
  | tail -3
wait $PEER; tail -1 /tmp/peer.log
step "host timeline"
PYTHONPATH=/tmp/site:$ROOT timeout 60 python3 \
  benchmarks/results/h100-2026-12-06/session10/host_timeline.py 2>&1 | tail -24
step "main's block file (baseline) against this one"
timeout 120 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 1 \
  --out "$OUT/versions" 2>&1 | tail -10
step "end"
