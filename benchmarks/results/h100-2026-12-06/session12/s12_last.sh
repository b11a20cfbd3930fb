#!/usr/bin/env bash
# Issue 14, session 12: the last try, for about 190 s of command after fifteen failed starts.
# Runs on main with this folder's block-variants.patch applied (`git apply`).
# Carry [".whl", ".gpu"]. No mamba_ssm build (it would not finish): the GPU tests of the
# block scan, then its kernel variants off and on side by side, then main's block file
# against this one to 64K.
set -u
T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 MAMBASEQ_PEER_DIR=
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
nvidia-smi --query-gpu=name --format=csv,noheader
step() { echo "== $1 at $((SECONDS - T0)) s"; }
step "GPU tests of the block scan"
timeout 100 python3 -m pytest -m gpu -q -n 8 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py -k "block" 2>&1 | tail -3
step "block variants"
timeout 60 python3 -m benchmarks.scan --block-variants-only --out "$OUT" 2>&1 | tail -8
step "main's block file (baseline) against this one, to 64K"
timeout 60 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 1 \
  --max-length 65536 --out "$OUT/versions" 2>&1 | tail -10
step "end"
