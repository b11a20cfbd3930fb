#!/usr/bin/env bash
# Issue 14, session 17, call 2, on branch s17-layout: B and C of the next state loaded while
# this one is scanned (forward and backward); the forward scanning two states at once (one
# associative_scan of both: half the barriers a state); session 16's dA summed a warp.
#  1. GPU tests of the block layout, strided reads, int32 offsets, recomputation (beside the
#     peer's build), on this checkout (two states at once, the backward prefetching)
#  2. versions.py against main's block file: main + dA-per-warp.patch; the backward
#     prefetching alone; the forward prefetching too (uncapped: 146 registers; capped at 128);
#     the forward two states at once (uncapped: 209 registers; capped at 168); the backward
#     prefetching in chunks of 1,024 steps in 4 warps (168 registers: 3 programs an SM), and
#     with the forward two states at once
#  3. the scan and training tables beside mamba_ssm (this checkout)
#  4. host_profile.py: the host's time of a scan at 512, ours and mamba_ssm's
# Carry [".whl", ".peer", ".gpu"]; .gpu/: triton_block_scan_main.py, triton_launch_main.py
# (main, 17f82e8), v_dA.py (main + session16/dA-per-warp.patch), v_bwdpf.py (this file with
# FWD_PAIR and FWD_PREFETCH False), v_pf.py (FWD_PAIR False).
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S17=benchmarks/results/h100-2026-12-06/session17
step "GPU tests: block layout, strided reads, int32 offsets, recomputation"
timeout 170 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py \
  -k "block or strided or int32 or recompute or float64_gpu" 2>&1 | tail -4
step "versions against main"
PYTHONPATH=/tmp/site:$ROOT timeout 240 python3 $S17/versions.py --rounds 2 \
  main=.gpu/triton_block_scan_main.py dA=.gpu/v_dA.py bwdpf=.gpu/v_bwdpf.py \
  pf=.gpu/v_pf.py pf128=.gpu/v_pf.py@128 pair=. pair168=.@168 \
  bwdpf1024=.gpu/v_bwdpf.py+1024 pair1024=.+1024 2>&1 | tee "$OUT/versions.md" | tail -9
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "scan table beside mamba_ssm"
timeout 110 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 100 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "host profile at 512, ours and mamba_ssm"
PYTHONPATH=/tmp/site:$ROOT timeout 60 python3 $S17/host_profile.py 2>&1 | tee "$OUT/host_profile.txt" \
  | grep "^##"
step "end"
