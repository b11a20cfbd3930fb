#!/usr/bin/env bash
# Issue 14, for the next session: the branch block-bwd-regs measured against main's block
# layout in one GPU call (~6-7 min), written in session 8 and not yet run. Made ready on the
# CPU machine, from the repository root with main checked out:
#   mkdir -p .gpu && git archive -o .gpu/bwd.tar block-bwd-regs
# then run this with carry [".whl", ".peer", ".gpu/bwd.tar"].
#  1. mamba_ssm's selective_scan_cuda built in the background (about 130 s, cached in /tmp)
#  2. the branch's scan GPU tests (both layouts, float64 yardsticks)
#  3. `benchmarks.scan_versions`: main's kernels/triton_block_scan.py (baseline) against the
#     branch's, two alternating rounds, mamba_ssm beside them
#  4. the 130M LM's training beside mamba_ssm on the branch
# A second call (warm, carry [".whl"], the tree that is to land) times issue 14's `gpu` suite
# as session 6 did:
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
#   export PYTHONPATH=/tmp/site; python3 -m pip install -q --no-deps --no-build-isolation -e .
#   python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests
set -u
T0=$SECONDS
ROOT=$PWD
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"
(MAMBASEQ_PEER_DIR=$ROOT/.peer/mamba_ssm TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=10 \
  python3 -m benchmarks.peer > "$OUT/peer.log" 2>&1) &
PEER=$!
cp kernels/triton_block_scan.py /tmp/triton_block_scan_main.py
mkdir -p /tmp/bwd && tar -xf .gpu/bwd.tar -C /tmp/bwd
cd /tmp/bwd && python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
step() { echo "== $1 at $((SECONDS - T0)) s"; }
step "branch: GPU scan tests"
timeout 150 python3 -m pytest -m gpu -q -p no:cacheprovider tests/kernels/test_triton_scan.py \
  -k "float64 or strided or deterministic" 2>&1 | tee "$OUT/gpu_tests.log" | tail -4
wait $PEER; tail -1 "$OUT/peer.log"
export MAMBASEQ_PEER_DIR=$ROOT/.peer/mamba_ssm
step "main's block layout against the branch's"
timeout 220 python3 -m benchmarks.scan_versions /tmp/triton_block_scan_main.py --rounds 2 \
  --out "$OUT" 2>&1 | tee "$OUT/scan_versions.log" | tail -12
step "130M LM training beside mamba_ssm"
timeout 100 python3 -m benchmarks.training --preset lm-130m --steps 3 --out "$OUT" 2>&1 \
  | tail -6
step "end"
