#!/usr/bin/env bash
# Issue 14, session 19, call 3: NOT RUN (the device was paused for the session). Call 2 cut
# down to the device time left then (276 s): no peer build, so no scan table and no mamba_ssm
# column. Prepare with s19_prepare.sh. On the working tree: the backward's sums made in the
# forward where small, and the Launcher passing data pointers as ints:
#  1. the gpu tests of the block layout and the launcher
#  2. versions.py at short lengths: main (2e464ba's block file and launcher) against this
#  3. host_parts.py at B1 D1024 L512: main, early (the sums in the forward, main's launcher),
#     this, cast (this returning dB and dC in float32 for autograd's engine to convert)
# Carry [".whl", ".gpu"]; .gpu/ as for s19_call2.sh.
set -u
NO_PEER=1 source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S18=benchmarks/results/h100-2026-12-06/session18
S19=benchmarks/results/h100-2026-12-06/session19
step "gpu tests: block layout, launcher"
timeout 80 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/kernels/test_triton_launch.py -k "block" 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -3
step "host parts at 512"
PYTHONPATH=/tmp/site:$ROOT timeout 30 python3 $S19/host_parts.py main=.gpu/v_main.py \
  early=.gpu/v_early.py this=. cast=.gpu/v_cast.py 2>&1 | tee "$OUT/host_parts.md" | tail -24
step "versions at short lengths"
# the versions before --shapes, which takes every argument after it
PYTHONPATH=/tmp/site:$ROOT timeout 50 python3 $S18/versions.py --rounds 3 main=.gpu/v_main.py \
  this=. --shapes 1,1024,512 1,1024,2048 1,1024,4096 1,1024,8192 2>&1 \
  | tee "$OUT/versions_short.md" | tail -6
step "end"
