#!/usr/bin/env bash
# Issue 14, session 18, call 1, on main (5c97084):
#  1. versions.py: main's block file, session 17's bwd-scalars-ahead.patch, main again (noise)
#  2. Nsight Compute of our backward at 8 x 1536 x 8K and our forward at 1 x 1024 x 64K
#     (details and per-SASS-instruction stall samples), beside the peer's build
#  3. host_lines.py: the host's time of a forward+backward at 512, line by line, ours and
#     mamba_ssm's; torch.zeros on the main and on autograd's thread
#  4. Nsight Compute of mamba_ssm's backward at 8 x 1536 x 8K (details)
# Carry [".whl", ".peer", ".gpu"]; .gpu/: triton_block_scan_main.py, triton_launch_main.py
# (main), v_scalars.py (main + session17/bwd-scalars-ahead.patch).
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S17=benchmarks/results/h100-2026-12-06/session17
S18=benchmarks/results/h100-2026-12-06/session18
export PYTHONPATH=/tmp/site:$ROOT
step "versions: main, bwd-scalars-ahead, main"
timeout 150 python3 $S17/versions.py --rounds 2 main=.gpu/triton_block_scan_main.py \
  scalars=.gpu/v_scalars.py main2=.gpu/triton_block_scan_main.py 2>&1 \
  | tee "$OUT/versions.md" | tail -7
ncu_details() {  # name, kernel regex, args...
  local name=$1 kernel=$2; shift 2
  timeout 150 ncu -k "regex:$kernel" --launch-skip 1 --launch-count 1 --set full \
    --import-source yes -f -o /tmp/$name python3 $S18/ncu_scan.py "$@" > /tmp/$name.log 2>&1
  tail -2 /tmp/$name.log
  ncu --import /tmp/$name.ncu-rep --page details > "$OUT/ncu_$name.txt" 2>&1
  ncu --import /tmp/$name.ncu-rep --page source --csv --print-source sass \
    > "$OUT/ncu_${name}_sass.csv" 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued" \
    "$OUT/ncu_$name.txt" | head -12
}
step "ncu: our backward, 8 x 1536 x 8K"
ncu_details bwd _block_bwd_kernel 8 1536 8192
step "ncu: our forward, 1 x 1024 x 64K"
ncu_details fwd _block_fwd_kernel 1 1024 65536
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "host lines at 512"
timeout 90 python3 $S18/host_lines.py 2>&1 | tee "$OUT/host_lines.md"
step "ncu: mamba_ssm's backward, 8 x 1536 x 8K"
ncu_details peer_bwd selective_scan_bwd --peer 8 1536 8192
step "end"
ls -la $OUT
