#!/usr/bin/env bash
# Prepared in session 22 for the next session (not run: no GPU was lent in session 22). Two
# calls on a tree with block-forward.patch applied: the block forward's programs may take
# several channels, which share each state's B_t and C_t load (ScanConfig.block_fwd_rows);
# bf16 B and C widened by shifting bits; the forward in Gluon (kernels/gluon_block_forward.py,
# each thread 16 adjacent steps; GLUON_FORWARD, off by default). Offline (kernel_stats.py,
# sm_90, the loop over states): Triton 313 -> 296 instructions, two channels 498 for twice
# the work (240 registers), Gluon 245. Interpreter: 24 block cases pass (also with
# FWD_ROWS = 2 as the default); CPU suite on the patched tree passes.
#  1. the block, launcher and recomputation gpu tests (with the new channels-a-program and Gluon
#     cases against float64)
#  2. kdiag.py: forward and backward kernel GPU time under 14 variants (channels, chunk
#     steps, warps, float32 B and C, Gluon) at 8K, 64K, 2^20 and the gated 8 x 1536 x 8K
#  3. Nsight Compute on one forward launch at 64K, default and two channels a program: is
#     the forward bound by issue or by L2 (B and C are read by every channel)?
#  4. gluon_forward.py: session 22's stand-alone Gluon forward (the benchmark's case), in
#     case the product's fails
#  5. versions.py, 2 rounds: main (HEAD's block file), this (patch, one channel, Triton), two
#     channels a program (2048 and 1024 steps a chunk), the forward in Gluon (one and two
#     channels), and session 21's rotate-states-stepped.patch on HEAD (the backward's states
#     in an order of each channel's own: is the 1K backward, 1.28x mamba_ssm's kernel, the
#     atomics' contention?), 512 to 2^20 and the gated shapes
# Two calls, since together they may pass a call's 600 s: `bash next_call.sh 1` (steps 1-4),
# then at once (a machine is held 30 s after a call) `bash next_call.sh 2` (step 5).
# Here first (CPU, repository root; seven lines):
#   mkdir -p .gpu && git show HEAD:kernels/triton_block_scan.py > .gpu/v_head.py
#   git apply benchmarks/results/h100-2026-12-06/session21/rotate-states-stepped.patch
#   cp kernels/triton_block_scan.py .gpu/v_rotate.py && git checkout kernels
#   git apply benchmarks/results/h100-2026-12-06/session22/block-forward.patch
#   sed 's/^FWD_ROWS = 1$/FWD_ROWS = 2/' kernels/triton_block_scan.py > .gpu/v_rows2.py
#   sed 's/^GLUON_FORWARD = False$/GLUON_FORWARD = True/' kernels/triton_block_scan.py > .gpu/v_gluon.py
#   sed 's/^GLUON_FORWARD = False$/GLUON_FORWARD = True/' .gpu/v_rows2.py > .gpu/v_gluon_rows2.py
# Carry [".whl", ".gpu"].
set -u
export NO_PEER=1
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
S18=benchmarks/results/h100-2026-12-06/session18
S22=benchmarks/results/h100-2026-12-06/session22
if [ "${1:-1}" = 1 ]; then
step "gpu tests: block layout, launcher, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/kernels/test_triton_launch.py \
  tests/core/test_recompute.py -k "block or launch or recompute or float64_gpu" 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -3
step "kernel times under variants"
PYTHONPATH=/tmp/site:$ROOT timeout 240 python3 $S22/kdiag.py times 1,1024,8192 1,1024,65536 \
  1,1024,1048576 8,1536,8192 2>&1 | tee "$OUT/ktimes.md"
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
SECTIONS="--section SpeedOfLight --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables --section ComputeWorkloadAnalysis --section SchedulerStats --section WarpStateStats --section Occupancy --section LaunchStats"
for variant in default r2/2048/w4; do
  step "ncu forward $variant"
  PYTHONPATH=/tmp/site:$ROOT timeout 60 "$NCU" --clock-control none -k regex:_block_fwd_kernel \
    -s 2 -c 1 $SECTIONS python3 $S22/kdiag.py run $variant 1,1024,65536 3 \
    > "$OUT/ncu_fwd_${variant//\//_}.txt" 2>&1
  grep -E "Duration|Throughput|Hit Rate|Issue Slots Busy|Executed Ipc A|No Eligible|Achieved Occupancy|Registers Per|Warp Cycles Per Issued" \
    "$OUT/ncu_fwd_${variant//\//_}.txt" | head -24
done
step "the stand-alone Gluon forward against the block scan's"
PYTHONPATH=/tmp/site:$ROOT timeout 60 python3 $S22/gluon_forward.py times 1,1024,8192 \
  1,1024,65536 1,1024,1048576 8,1536,8192 16,4,1 2>&1 | tee "$OUT/gluon.md"
fi
if [ "${1:-1}" = 2 ]; then
step "versions"
PYTHONPATH=/tmp/site:$ROOT timeout 420 python3 $S18/versions.py --rounds 2 main=.gpu/v_head.py \
  this=. r2=.gpu/v_rows2.py r2c1k=.gpu/v_rows2.py+1024,4,2 gl=.gpu/v_gluon.py \
  glr2=.gpu/v_gluon_rows2.py rot=.gpu/v_rotate.py \
  --shapes 1,1024,512 1,1024,1024 1,1024,2048 \
  1,1024,8192 1,1024,65536 1,1024,1048576 8,1536,2048 8,1536,8192 2>&1 \
  | tee "$OUT/versions.md" | tail -10
fi
step "end"
