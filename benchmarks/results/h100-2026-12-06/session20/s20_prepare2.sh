#!/usr/bin/env bash
# Here (CPU), from the repository root of a checkout of the lean change, after
# session19/s19_prepare.sh has written .gpu/v_main.py and .gpu/triton_launch_main.py on main:
# the other versions s20_call2.sh compares. Carry .gpu.
set -eu
S19=benchmarks/results/h100-2026-12-06/session19
git show 2e464ba:kernels/triton_block_scan.py > .gpu/v_this19.py
patch -s .gpu/v_this19.py < <(git show HEAD:$S19/host-sums-addresses.patch \
  | sed -n '/^diff --git a\/kernels\/triton_block_scan.py/,/^diff --git a\/kernels\/triton_launch.py/p' \
  | sed '$d')
sed 's/^EARLY_BUFFERS_MAX_BYTES = 32 << 20$/EARLY_BUFFERS_MAX_BYTES = 0/' \
  kernels/triton_block_scan.py > .gpu/v_late.py
sed 's/^from .triton_launch import Launcher$/from .triton_launch_main import Launcher/' \
  kernels/triton_block_scan.py > .gpu/v_leanml.py
grep -c "EARLY_SUMS_MAX_BYTES" .gpu/v_this19.py
grep -c "EARLY_BUFFERS_MAX_BYTES = 0" .gpu/v_late.py
grep -c "triton_launch_main" .gpu/v_leanml.py
