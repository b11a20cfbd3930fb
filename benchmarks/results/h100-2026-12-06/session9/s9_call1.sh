#!/usr/bin/env bash
# Issue 14, session 9, call 1: the branches block-bwd-regs and block-bwd-dA (regs and one
# commit more) measured against main's block layout in one GPU call (written in
# session 8 for block-bwd-regs, the dA branch and the profile added in session 9). Made ready
# on the CPU machine, from the repository root with main checked out:
#   mkdir -p .gpu && git archive -o .gpu/bwd.tar block-bwd-dA
#   git show block-bwd-regs:kernels/triton_block_scan.py > .gpu/triton_block_scan_regs.py
# then run this with carry [".whl", ".peer", ".gpu/bwd.tar", ".gpu/triton_block_scan_regs.py"].
#  1. mamba_ssm's selective_scan_cuda built in the background (about 130 s, cached in /tmp)
#  2. the branch's scan GPU tests (both layouts, float64 yardsticks)
#  3. `benchmarks.scan_versions`: main's kernels/triton_block_scan.py (baseline) against the
#     dA branch's, two alternating rounds, mamba_ssm beside them; then block-bwd-regs' file
#     (baseline) against the dA branch's: the dA commit alone
#  4. benchmarks/scan_profile.py (main's) on the dA branch: are 512-8K launch-bound?
# It ran in 322 s on an H100. `s9_call2.sh` then timed the `gpu` suite on the tree that landed.
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
step "main's block layout against the dA branch's"
timeout 170 python3 -m benchmarks.scan_versions /tmp/triton_block_scan_main.py --rounds 2 \
  --out "$OUT/main_vs_dA" 2>&1 | tee "$OUT/scan_versions_main_vs_dA.log" | tail -12
step "block-bwd-regs' block layout against the dA branch's"
timeout 150 python3 -m benchmarks.scan_versions "$ROOT/.gpu/triton_block_scan_regs.py" \
  --rounds 2 --out "$OUT/regs_vs_dA" 2>&1 | tee "$OUT/scan_versions_regs_vs_dA.log" | tail -12
step "profile of short lengths (branch)"
cp "$ROOT/benchmarks/scan_profile.py" benchmarks/
timeout 70 python3 -m benchmarks.scan_profile --out "$OUT" 2>&1 | head -16
step "end"
