#!/usr/bin/env bash
# Issue 14, session 16, call 3b (call 3 cut to what 330 s of device time allow, no
# mamba_ssm): on branch s16 with VEC computed inside the kernels, the block GPU tests and
# scan_versions against call 2's block file (a6cfd5a: VEC passed from the host).
# Carry [".whl", ".peer", ".gpu"], with git show a6cfd5a:kernels/triton_block_scan.py >
# .gpu/triton_block_scan_a6cfd5a.py
set -u
T0=$SECONDS
ROOT=$PWD
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
step() { echo "== $1 at $((SECONDS - T0)) s"; }
step "GPU tests: block layout, strided reads, int32 offsets, recomputation"
timeout 90 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py \
  -k "block or strided or int32 or recompute" 2>&1 | tail -3
step "scan_versions against a6cfd5a's block file"
timeout 60 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_a6cfd5a.py --rounds 2 \
  --max-length 65536 --out "$OUT" 2>&1 | tail -9
step "end"
