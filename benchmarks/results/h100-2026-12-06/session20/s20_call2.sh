#!/usr/bin/env bash
# Issue 14, session 20, call 2: the lean host path (the working tree: kernels/triton_block_scan.py
# with what the backward writes allocated in the forward up to EARLY_BUFFERS_MAX_BYTES, the
# sums split from one buffer in one call, B and C without views, every gradient returned as
# summed for autograd's engine to convert; kernels/triton_launch.py passing data pointers):
#  1. the whole gpu suite
#  2. versions.py at short lengths: main (2e464ba), this19 (session19/host-sums-addresses.patch),
#     lean (this tree), late (lean, EARLY_BUFFERS_MAX_BYTES = 0), leanml (lean on main's
#     launcher, tensors given to Triton's launcher)
#  3. host_parts.py (3 rounds) at B1 D1024 L512: the same versions and mamba_ssm
#  4. the scan table beside mamba_ssm (the training table left out: device time was short)
# Carry [".whl", ".peer", ".gpu"]; .gpu/ from s20_prepare2.sh. VERSIONS and ROUNDS (set by
# s20_call3.sh) replace the versions compared and versions.py's rounds (3 as call 2 ran).
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S18=benchmarks/results/h100-2026-12-06/session18
S19=benchmarks/results/h100-2026-12-06/session19
VERSIONS=${VERSIONS:-"main=.gpu/v_main.py this19=.gpu/v_this19.py lean=. late=.gpu/v_late.py leanml=.gpu/v_leanml.py"}
step "gpu suite"
timeout 180 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider tests 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -3
step "versions at short lengths"
PYTHONPATH=/tmp/site:$ROOT timeout 150 python3 $S18/versions.py --rounds ${ROUNDS:-3} $VERSIONS \
  --shapes 1,1024,512 1,1024,1024 1,1024,2048 1,1024,4096 1,1024,8192 8,1536,2048 2>&1 \
  | tee "$OUT/versions_short.md" | tail -9
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "host parts at 512"
PYTHONPATH=/tmp/site:$ROOT timeout 90 python3 $S19/host_parts.py --rounds 3 $VERSIONS 2>&1 \
  | tee "$OUT/host_parts.md" | tail -30
mkdir -p /tmp/o
step "scan table beside mamba_ssm"
timeout 80 python3 -m benchmarks.scan --ref-max-log2 9 --out /tmp/o 2>&1 | tail -3
cat /tmp/o/scan.md
cp /tmp/o/scan.md /tmp/o/scan.csv "$OUT/" 2>/dev/null
step "end"
