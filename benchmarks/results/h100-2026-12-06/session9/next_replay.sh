#!/usr/bin/env bash
# Issue 14, prepared in session 9 for branch recompute-replay and not run (no device time was
# left to start a machine). Carry [".whl", ".peer"]; about 6 minutes on a cold machine:
#  1. mamba_ssm's selective_scan_cuda built in the background (about 130-160 s)
#  2. the recompute GPU tests, the block-scan replay's among them
#  3. replay_ab.py: the recomputation with the block scans replayed against run again, one
#     process, two alternating rounds, the 130M LM and the 1.4M DNA model at 1K
#  4. the training benchmark beside mamba_ssm (issue 14's whole-model table)
set -u
T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
nvidia-smi --query-gpu=name --format=csv,noheader
step() { echo "== $1 at $((SECONDS - T0)) s"; }
export MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm
(TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=10 python3 -m benchmarks.peer > /tmp/peer.log 2>&1) &
PEER=$!
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
