#!/usr/bin/env bash
# Issue 14, session 14, call 4: the block layout's register caps (ScanConfig.fwd_max_regs,
# bwd_max_regs, now passed to its launches). Carry [".whl", ".peer"].
#  1. mamba_ssm's selective_scan_cuda built in the background; the GPU tests of the block
#     scan and the launcher
#  2. block_regcaps.py: the backward uncapped, at 168 and at 128 registers, beside mamba_ssm
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
step "GPU tests: block scan, launcher"
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/kernels/test_triton_launch.py -k "block" 2>&1 | tail -3
wait $PEER; tail -1 /tmp/peer.log
step "block register caps beside mamba_ssm"
PYTHONPATH=/tmp/site:$ROOT timeout 150 python3 \
  benchmarks/results/h100-2026-12-06/session14/block_regcaps.py "$OUT" 2>&1 | tail -9
step "end"
