#!/usr/bin/env bash
# Issue 14, session 15, call 4: the kept kernels launched with each tensor's address in its
# place (Triton's launcher otherwise calls data_ptr and asks the driver about each tensor),
# against main bfc922e (block file and launcher); the block kernels' channel offsets in int64
# where they pass 2^31 (WIDE), with a GPU test, and main's kernels on that input.
# Not run (no device time left in session 15). Run on main with session15/
# launch-addresses.patch, then session15/wide-offsets.patch applied (which replaces main's
# refusal of such inputs). Carry [".whl", ".peer", ".gpu"]:
#   git show bfc922e:kernels/triton_block_scan.py | sed 's/^from .triton_launch import
#     Launcher$/from .triton_launch_main import Launcher/' > .gpu/triton_block_scan_main.py
#   git show bfc922e:kernels/triton_launch.py > .gpu/triton_launch_main.py
# Written with 327 s of device time left, so without mamba_ssm:
#  1. the GPU tests of the block layout, the strided reads, the new int32 case and the
#     recomputation
#  2. overflow_main.py: main's block forward on u's channels 2^30 elements apart
#  3. host_ab.py: host us at 512 and event ms 512 .. 32K, bfc922e / this
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
kill $PEER 2>/dev/null; wait $PEER 2>/dev/null; unset MAMBASEQ_PEER_DIR
cp .gpu/triton_launch_main.py kernels/
step "GPU tests: block layout, strided reads, int32 offsets, recomputation"
timeout 130 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py \
  -k "block or strided or int32 or recompute" 2>&1 | tail -3
step "main's block forward, channels 2^30 apart"
PYTHONPATH=/tmp/site:$ROOT timeout 60 python3 \
  benchmarks/results/h100-2026-12-06/session15/overflow_main.py 2>&1 | tail -4
step "host and event time, bfc922e against this"
PYTHONPATH=/tmp/site:$ROOT timeout 120 python3 \
  benchmarks/results/h100-2026-12-06/session15/host_ab.py 2>&1 | tee "$OUT/host_ab.md"
step "end"
