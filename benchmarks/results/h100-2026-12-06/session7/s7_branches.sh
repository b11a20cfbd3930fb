#!/usr/bin/env bash
# Issue 14, for the next session: both scan branches measured in one GPU call (~6-8 min),
# written in session 7 and not yet run. Made ready on the CPU machine, from the repository root:
#   mkdir -p .gpu && git archive -o .gpu/split.tar scan-split-tiles \
#     && git archive -o .gpu/stp.tar scan-time-parallel
# then run this with carry [".whl", ".peer", ".gpu/split.tar", ".gpu/stp.tar"].
#  1. mamba_ssm's selective_scan_cuda built in the background (about 135 s, cached in /tmp)
#  2. scan-split-tiles: its scan GPU tests, then `benchmarks.scan --tile-steps` (the row
#     "8 steps, the backward in 4" is its new bf16 default)
#  3. scan-split-tiles: the scan table beside mamba_ssm (acceptance lines 1 and 2)
#  4. scan-time-parallel: tiles and the block scan (mamba_ssm's layout) beside ours and mamba_ssm
set -u
T0=$SECONDS
ROOT=$PWD
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 MAMBASEQ_PEER_DIR=$ROOT/.peer/mamba_ssm
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"
(TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=10 python3 -m benchmarks.peer > "$OUT/peer.log" 2>&1) &
PEER=$!
mkdir -p /tmp/split /tmp/stp
tar -xf .gpu/split.tar -C /tmp/split && tar -xf .gpu/stp.tar -C /tmp/stp
step() { echo "== $1 at $((SECONDS - T0)) s"; }

cd /tmp/split && python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
step "split: GPU scan tests"
timeout 150 python3 -m pytest -m gpu -q -p no:cacheprovider tests/kernels/test_triton_scan.py \
  -k "backward_tiles or float64 or sparse" 2>&1 | tail -4
step "split: tile steps"
# without the peer: loading it now would wait for the background build
env -u MAMBASEQ_PEER_DIR timeout 120 python3 -m benchmarks.scan --tile-steps 4 8 --tile-steps-only \
  --out "$OUT/split" 2>&1 | grep -v "^$" | tail -8
wait $PEER; tail -2 "$OUT/peer.log"
step "split: the scan table beside mamba_ssm"
timeout 150 python3 -m benchmarks.scan --out "$OUT/split" 2>&1 | grep -v "^$" | tail -14

cd /tmp/stp && python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
step "time-parallel: tiles and blocks"
timeout 200 python3 -m benchmarks.scan_time_parallel --out "$OUT/stp" 2>&1 | tail -12
step "end"
