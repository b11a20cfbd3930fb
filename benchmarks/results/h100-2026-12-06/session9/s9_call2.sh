#!/usr/bin/env bash
# Issue 14, session 9, call 2 (carry [".whl", ".peer"]; the tree that is to land, main with
# block-bwd-regs merged): the whole `gpu` suite in 4 processes (pytest-xdist, a test file a
# process) while mamba_ssm builds in the background (6 jobs of the 16 cores), then the scan
# table and the training benchmark beside mamba_ssm, then host_costs.py (where a short scan's
# host time goes). Everything printed goes to $OUT/call2.log too.
set -u
T0=$SECONDS
exec > >(tee -a "$OUT/call2.log") 2>&1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
step() { echo "== $1 at $((SECONDS - T0)) s"; }
export MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm
(TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=6 python3 -m benchmarks.peer > /tmp/peer.log 2>&1) &
PEER=$!
step "gpu suite, -n 4 --dist loadfile"
S0=$SECONDS
timeout 200 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests \
  2>&1 | tail -15
echo "gpu suite rc ${PIPESTATUS[0]} in $((SECONDS - S0)) s"
wait $PEER; tail -1 /tmp/peer.log
step "scan table beside mamba_ssm"
timeout 150 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT"
step "training beside mamba_ssm"
timeout 120 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT"
step "host costs at L 512"
PYTHONPATH=/tmp/site:$PWD timeout 50 python3 benchmarks/results/h100-2026-12-06/session9/host_costs.py
step "end"
