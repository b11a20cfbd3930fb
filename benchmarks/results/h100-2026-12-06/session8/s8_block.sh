#!/usr/bin/env bash
# Issue 14, session 8: the block layout (kernels/triton_block_scan.py) in one GPU call, run
# from the repository root with carry [".whl", ".peer"]:
#  1. mamba_ssm's selective_scan_cuda built in the background (about 130 s, cached in /tmp)
#  2. the scan's GPU tests (both layouts, float64 yardsticks)
#  3. `benchmarks.scan --layouts-only`: the tile layout against the block layout's chunks and warps
#  4. `benchmarks.scan`: the scan table beside mamba_ssm ("auto" layout)
#  5. `benchmarks.training --preset all`: whole models beside mamba_ssm's MambaLMHeadModel
set -u
T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"
git log --oneline -1 2>/dev/null | tee "$OUT/commit.txt"
(MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=10 \
  python3 -m benchmarks.peer > "$OUT/peer.log" 2>&1) &
PEER=$!
step() { echo "== $1 at $((SECONDS - T0)) s"; }
step "GPU scan tests"
timeout 170 python3 -m pytest -m gpu -q -p no:cacheprovider tests/kernels/test_triton_scan.py \
  -k "float64 or strided or deterministic" 2>&1 | tee "$OUT/gpu_tests.log" | tail -4
step "layouts"
timeout 100 python3 -m benchmarks.scan --layouts-only --out "$OUT" 2>&1 | grep -v "^$" | tail -12
wait $PEER; tail -1 "$OUT/peer.log"
export MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm
step "the scan table beside mamba_ssm"
timeout 190 python3 -m benchmarks.scan --ref-max-log2 12 --out "$OUT" 2>&1 | grep -v "^$" \
  | tee "$OUT/scan.log" | tail -18
step "whole-model training beside mamba_ssm"
timeout 120 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 \
  | tee "$OUT/training.log" | tail -8
step "end"
