#!/usr/bin/env bash
# Issue 14, session 21, call 2 (after call 1, on the same tree): versions.py main / this at
# short lengths (3 rounds) and the scan table beside mamba_ssm. Carry as call 1.
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_m21.py kernels/
S18=benchmarks/results/h100-2026-12-06/session18
step "versions at short lengths"
PYTHONPATH=/tmp/site:$ROOT timeout 150 python3 $S18/versions.py --rounds ${ROUNDS:-3} \
  main=.gpu/v_m21.py this=. \
  --shapes 1,1024,512 1,1024,1024 1,1024,2048 1,1024,4096 1,1024,8192 8,1536,2048 2>&1 \
  | tee "$OUT/versions_short.md" | tail -9
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
mkdir -p /tmp/o
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out /tmp/o 2>&1 | tail -3
cp /tmp/o/scan.md /tmp/o/scan.csv "$OUT/" 2>/dev/null; cat /tmp/o/scan.md
step "end"
