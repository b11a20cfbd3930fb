#!/usr/bin/env bash
# Issue 14, session 21, call 3, on the working tree: the Launcher calling Triton's C launcher
# directly and checking the tensors' devices without a key term; triton_interpreted read
# once; the backward's small sums zeroed by the forward's kernel; du, dΔ, dz one allocation
# where small. Beside main (7dd9cdb):
#  1. the whole gpu suite (mamba_ssm building beside it)
#  2. versions.py at short lengths, 3 rounds: main, main's block file on this launcher
#     (mainl), this without the early sums (noearly), without the grouped gradients
#     (nogroup), this
#  3. host_parts.py (3 rounds) at B1 D1024 L512: the same versions and mamba_ssm
#  4. diag.py B: host and event time of this tree at 512
#  5. the scan table beside mamba_ssm
# Carry [".whl", ".peer", ".gpu"]; .gpu/ from s21_prepare.sh and s21_prepare2.sh.
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_m21.py kernels/
S18=benchmarks/results/h100-2026-12-06/session18
S19=benchmarks/results/h100-2026-12-06/session19
S21=benchmarks/results/h100-2026-12-06/session21
VERSIONS="main=.gpu/v_m21.py mainl=.gpu/v_m21l.py noearly=.gpu/v_noearly.py nogroup=.gpu/v_nogroup.py this=."
step "gpu suite"
timeout 170 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider tests 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -3
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "versions at short lengths"
PYTHONPATH=/tmp/site:$ROOT timeout 150 python3 $S18/versions.py --rounds 3 $VERSIONS \
  --shapes 1,1024,512 1,1024,1024 1,1024,2048 1,1024,4096 1,1024,8192 8,1536,2048 2>&1 \
  | tee "$OUT/versions_short.md" | tail -9
step "host parts at 512"
PYTHONPATH=/tmp/site:$ROOT timeout 90 python3 $S19/host_parts.py --rounds 3 $VERSIONS 2>&1 \
  | tee "$OUT/host_parts.md" | tail -24
step "diag B"
PYTHONPATH=/tmp/site:$ROOT timeout 40 python3 $S21/diag.py B 2>&1 | tee "$OUT/diag_b.md" | tail -6
mkdir -p /tmp/o
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out /tmp/o 2>&1 | tail -3
cp /tmp/o/scan.md /tmp/o/scan.csv "$OUT/" 2>/dev/null; cat /tmp/o/scan.md
step "end"
