#!/usr/bin/env bash
# Issue 14, session 21, call 5 (one command line, warm machine): the block, launcher and
# recomputation gpu tests on the landed tree (call 3's without the grouped du, dΔ, dz).
# Carry [".whl"].
export NO_PEER=1
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh >/dev/null 2>&1
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider tests/kernels/test_triton_scan.py \
  tests/kernels/test_triton_launch.py tests/core/test_recompute.py \
  -k "block or launch or recompute or float64_gpu" 2>&1 | tee $OUT/gpu_tests_final.log | tail -3
