#!/usr/bin/env bash
# Here (CPU), from the repository root of a checkout of main, before s19_call2.sh or
# s19_call3.sh: applies host-sums-addresses.patch to the working tree and writes the ignored
# .gpu/ versions the calls compare (main's launcher and block file at 2e464ba, the patched
# block file on main's launcher, the patched one with engine-casts-dbc.patch). Carry .gpu.
set -eu
S19=benchmarks/results/h100-2026-12-06/session19
to_main_launcher() { sed 's/^from .triton_launch import Launcher$/from .triton_launch_main import Launcher/'; }
git apply "$S19/host-sums-addresses.patch"
mkdir -p .gpu
git show 2e464ba:kernels/triton_launch.py > .gpu/triton_launch_main.py
git show 2e464ba:kernels/triton_block_scan.py | to_main_launcher > .gpu/v_main.py
to_main_launcher < kernels/triton_block_scan.py > .gpu/v_early.py
cp kernels/triton_block_scan.py .gpu/v_cast.py
patch -s .gpu/v_cast.py < "$S19/engine-casts-dbc.patch"
grep -c "triton_launch_main" .gpu/v_main.py .gpu/v_early.py
grep -c "autograd's engine converts" .gpu/v_cast.py
