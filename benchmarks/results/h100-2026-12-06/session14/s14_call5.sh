#!/usr/bin/env bash
# Issue 14, session 14, call 5: the whole `gpu` suite on main as it ends the session, timed
# (acceptance: float64 GPU tests green, at most 3 minutes). Carry [".whl"].
set -u
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
kill $PEER 2>/dev/null      # no peer in this call
step "gpu suite, -n 4 --dist loadfile"
timeout 180 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests 2>&1 \
  | tail -3
step "end"
