#!/usr/bin/env bash
# Issue 14, session 19, call 2: NOT RUN (eight starts after call 1 found no machine, then the
# device was paused for the session). Prepare with s19_prepare.sh. On the working tree: the
# block scan's backward sums made in the forward where small (EARLY_SUMS_MAX_BYTES), and the
# Launcher passing data pointers as ints to the kept kernel:
#  1. the gpu tests of the block layout, the launcher and recomputation
#  2. versions.py at short lengths: main (2e464ba's block file and launcher), early (the sums
#     in the forward, main's launcher), this
#  3. host_parts.py at B1 D1024 L512: the same versions, cast (this returning dB and dC in
#     float32 for autograd's engine to convert) and mamba_ssm
#  4. the scan table beside mamba_ssm
# Carry [".whl", ".peer", ".gpu"]; .gpu/ from s19_prepare.sh: v_main.py (2e464ba's block file
# importing triton_launch_main), triton_launch_main.py (2e464ba's launcher), v_early.py (the
# patched block file importing triton_launch_main), v_cast.py (the patched block file, dB and
# dC returned in float32). VERSIONS and HOST_VERSIONS (set by session20/s20_call1.sh, which
# ran this call) replace the versions compared in steps 2 and 3.
set -u
VERSIONS=${VERSIONS:-"main=.gpu/v_main.py early=.gpu/v_early.py this=."}
HOST_VERSIONS=${HOST_VERSIONS:-"$VERSIONS cast=.gpu/v_cast.py"}
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S18=benchmarks/results/h100-2026-12-06/session18
S19=benchmarks/results/h100-2026-12-06/session19
step "gpu tests: block layout, launcher, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/kernels/test_triton_launch.py \
  tests/core/test_recompute.py -k "block or launch or recompute or float64_gpu" 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -3
step "versions at short lengths"
# the versions before --shapes, which takes every argument after it (session 20's call 1 ran
# them after it, and versions.py refused the call: session20/call1/versions_short.md)
PYTHONPATH=/tmp/site:$ROOT timeout 200 python3 $S18/versions.py --rounds 3 $VERSIONS \
  --shapes 1,1024,512 1,1024,1024 1,1024,2048 1,1024,4096 1,1024,8192 8,1536,2048 2>&1 \
  | tee "$OUT/versions_short.md" | tail -9
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "host parts at 512"
PYTHONPATH=/tmp/site:$ROOT timeout 90 python3 $S19/host_parts.py $HOST_VERSIONS 2>&1 \
  | tee "$OUT/host_parts.md" | tail -30
mkdir -p /tmp/o
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out /tmp/o 2>&1 | tail -3
cp /tmp/o/scan.md /tmp/o/scan.csv "$OUT/" 2>/dev/null; cat /tmp/o/scan.md
step "end"
