#!/usr/bin/env bash
# Issue 14, session 18, call 3: NOT RUN (no machine started; the device time ran out). For
# the next session, on main with session18/even-l.patch applied (the block kernels without
# step masks where the length is whole chunks, EVEN_L):
#  1. the `gpu` tests of the block layout, strided reads, int32 offsets, recomputation
#  2. versions.py: 75180ba's block file against this
# Carry [".whl", ".gpu"]; .gpu/: v_landed.py (main's block file, 75180ba), triton_launch_main.py
# (main's launcher). No peer build: add the scan and training tables where time allows.
set -u
T0=$SECONDS
ROOT=$PWD
step() { echo "== $1 at $((SECONDS - T0)) s"; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
nvidia-smi --query-gpu=name --format=csv,noheader
cp .gpu/triton_launch_main.py kernels/
S18=benchmarks/results/h100-2026-12-06/session18
step "GPU tests: block layout, strided reads, int32 offsets, recomputation"
timeout 110 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py \
  -k "block or strided or int32 or recompute or float64_gpu" 2>&1 | tee "$OUT/gpu_tests.log" \
  | tail -3
step "versions"
PYTHONPATH=/tmp/site:$ROOT timeout 90 python3 $S18/versions.py --rounds 2 \
  landed=.gpu/v_landed.py this=. 2>&1 | tee "$OUT/versions.md" | tail -7
step "end"
