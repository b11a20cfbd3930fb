#!/usr/bin/env bash
# Issue 14, session 20, call 1: session 19's unrun call 2 with one version more ("prep").
# Prepare here with session19/s19_prepare.sh, then session20/s20_prepare.sh. On the working
# tree (session19/host-sums-addresses.patch): the block scan's backward sums made in the
# forward where small (EARLY_SUMS_MAX_BYTES), and the Launcher passing data pointers as ints
# to the kept kernel:
#  1. the gpu tests of the block layout, the launcher and recomputation
#  2. versions.py at short lengths: main (2e464ba's block file and launcher), early (the sums
#     in the forward, main's launcher), this, prep (this + dB, dC returned in float32 + du,
#     ddelta, dz allocated in the forward where the three take at most 24 MiB)
#  3. host_parts.py at B1 D1024 L512: the same versions, cast (this returning dB and dC in
#     float32 for autograd's engine to convert) and mamba_ssm
#  4. the scan table beside mamba_ssm
# Carry [".whl", ".peer", ".gpu"].
set -u
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
PYTHONPATH=/tmp/site:$ROOT timeout 200 python3 $S18/versions.py --rounds 3 \
  --shapes 1,1024,512 1,1024,1024 1,1024,2048 1,1024,4096 1,1024,8192 8,1536,2048 \
  main=.gpu/v_main.py early=.gpu/v_early.py this=. prep=.gpu/v_prep.py 2>&1 \
  | tee "$OUT/versions_short.md" | tail -9
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "host parts at 512"
PYTHONPATH=/tmp/site:$ROOT timeout 90 python3 $S19/host_parts.py main=.gpu/v_main.py \
  early=.gpu/v_early.py this=. cast=.gpu/v_cast.py prep=.gpu/v_prep.py 2>&1 \
  | tee "$OUT/host_parts.md" | tail -30
mkdir -p /tmp/o
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out /tmp/o 2>&1 | tail -3
cp /tmp/o/scan.md /tmp/o/scan.csv "$OUT/" 2>/dev/null; cat /tmp/o/scan.md
step "end"
