#!/usr/bin/env bash
# Here (CPU), from the repository root of a checkout of main, after session19/s19_prepare.sh
# (which applies host-sums-addresses.patch and writes .gpu/v_main.py, v_early.py, v_cast.py):
# writes .gpu/v_prep.py, the cast version with early-grads.patch (du, ddelta and dz allocated
# in the forward where small), for s20_call1.sh. Carry .gpu.
set -eu
S20=benchmarks/results/h100-2026-12-06/session20
cp .gpu/v_cast.py .gpu/v_prep.py
patch -s .gpu/v_prep.py < "$S20/early-grads.patch"
grep -c "EARLY_GRADS_MAX_BYTES" .gpu/v_prep.py
