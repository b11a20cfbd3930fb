#!/usr/bin/env bash
# Issue 14, prepared in session 9 for branch recompute-replay and not run (no device time
# was left to start a machine); carry [".whl"], about 100 s: the recomputation that replays the
# block scans (kernels/scan_stash.py): its GPU test, then replay_ab.py on the 130M LM
# (replayed against run again, one process, rounds alternating). Ours only; with time for
# mamba_ssm's build, follow it with `benchmarks.training --preset all --steps 3` beside it.
set -u
T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
nvidia-smi --query-gpu=name --format=csv,noheader
echo "== recompute GPU tests at $((SECONDS - T0)) s"
timeout 45 python3 -m pytest -m gpu -q -p no:cacheprovider tests/core/test_recompute.py \
  -k replays 2>&1 | tail -3
echo "== replay A/B at $((SECONDS - T0)) s"
PYTHONPATH=/tmp/site:$PWD timeout 45 python3 benchmarks/results/h100-2026-12-06/session9/replay_ab.py 1 lm-130m
echo "== end at $((SECONDS - T0)) s"
