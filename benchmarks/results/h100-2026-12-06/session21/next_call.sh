#!/usr/bin/env bash
# Prepared in session 21 for the next session (not run): on a working tree with
# rotate-states.patch applied (the backward takes the states in an order of each channel's
# own, d mod state first, so that programs side by side add their dB and dC to different rows
# at a time; the interpreter's block cases pass with it, 16 passed; kernel_stats.py: the bf16
# backward spills 40 bytes a thread instead of 8 and its loop is 841 instructions instead of
# 811, the two modulos a state; rotate-states-stepped.patch steps n and wraps it by a
# compare: its loop is 806 instructions, its spills 32 bytes; the interpreter's block cases
# pass with it too, 16 passed):
#  1. the block, launcher and recomputation gpu tests
#  2. the kernels' GPU time at 512-8K (diag.py A): is the 1K backward (126.6 us against
#     mamba_ssm's 99.3 in session 21) the atomics' contention?
#  3. versions.py, 3 rounds: main (HEAD's block file, .gpu/v_head.py), this (rotated), and
#     this in 1024-step chunks of 2 warps (0.89-0.91x the forward's kernel time at 2K-4K in
#     session 21's diag.py E) from 512 to 2^20 and at the gated shapes
# Here first: git show HEAD:kernels/triton_block_scan.py > .gpu/v_head.py; git apply
# benchmarks/results/h100-2026-12-06/session21/rotate-states.patch. Carry [".whl", ".gpu"].
set -u
export NO_PEER=1
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
S18=benchmarks/results/h100-2026-12-06/session18
S21=benchmarks/results/h100-2026-12-06/session21
step "gpu tests: block layout, launcher, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/kernels/test_triton_launch.py \
  tests/core/test_recompute.py -k "block or launch or recompute or float64_gpu" 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -3
step "kernel times"
PYTHONPATH=/tmp/site:$ROOT timeout 100 python3 $S21/diag.py A > "$OUT/diag_kernels.md" 2>&1
grep -E "^### A|_block_fwd_kernel |_block_bwd_kernel " "$OUT/diag_kernels.md"
step "versions"
PYTHONPATH=/tmp/site:$ROOT timeout 300 python3 $S18/versions.py --rounds 3 main=.gpu/v_head.py \
  this=. c1024=.+1024,2,2 --shapes 1,1024,512 1,1024,1024 1,1024,2048 1,1024,4096 \
  1,1024,8192 1,1024,65536 1,1024,1048576 8,1536,2048 8,1536,8192 2>&1 \
  | tee "$OUT/versions.md" | tail -12
step "end"
