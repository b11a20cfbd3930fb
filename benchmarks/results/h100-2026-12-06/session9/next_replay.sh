#!/usr/bin/env bash
# Issue 14, prepared in session 9 for branch recompute-replay (no device time was left to run
# it then); run in session 10, call 1 (session10/s10_call1.sh), in 241 s on an H100. Carry
# [".whl", ".peer"]; its setup is session 10's device_setup.sh:
#  1. mamba_ssm's selective_scan_cuda built in the background (about 130-160 s)
#  2. the recompute GPU tests, the block-scan replay's among them
#  3. replay_ab.py: the recomputation with the block scans replayed against run again, one
#     process, two alternating rounds, the 130M LM and the 1.4M DNA model at 1K
#  4. the training benchmark beside mamba_ssm (issue 14's whole-model table)
set -u
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "recompute GPU tests"
timeout 120 python3 -m pytest -m gpu -q -p no:cacheprovider tests/core/test_recompute.py 2>&1 \
  | tail -3
step "replay A/B"
PYTHONPATH=/tmp/site:$PWD timeout 120 python3 \
  benchmarks/results/h100-2026-12-06/session9/replay_ab.py 2
wait $PEER; tail -1 /tmp/peer.log
step "training beside mamba_ssm"
timeout 150 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT"
step "end"
