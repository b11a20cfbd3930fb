#!/usr/bin/env bash
# Issue 14, session 20, call 4: call 3 cut to what 259 s of device time could hold after four
# starts found no machine: the whole gpu suite on the landed host path (no peer).
set -u
export NO_PEER=1
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "gpu suite"
timeout 110 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider tests 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -3
step "end"
