#!/usr/bin/env bash
# Issue 14, session 16, call 1, on branch s16: main 4461393 with session 15's
# launch-addresses.patch and wide-offsets.patch applied, dB/dC's sums in a buffer of their own
# above 1 MiB, and the carries and atomics kept in the chunk's layout (no convert_layout).
#  1. GPU tests of the block layout, strided reads, the int32 case, recomputation (beside
#     the peer's build)
#  2. main's block forward on channels 2^30 apart
#  3. scan_versions against main's block file (3 rounds, to 2^20 and the gated shapes)
#  4. the scan and training tables beside mamba_ssm
#  5. host and event time against main (host_ab.py)
# Carry [".whl", ".peer", ".gpu"], with main's block file and launcher in .gpu/:
#   git show main:kernels/triton_block_scan.py | sed 's/^from .triton_launch import
#     Launcher$/from .triton_launch_main import Launcher/' > .gpu/triton_block_scan_main.py
#   (its import of BLOCK_MAX_CHANNEL_OFFSET, which WIDE removes, replaced by the constant)
#   git show main:kernels/triton_launch.py > .gpu/triton_launch_main.py
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S15=benchmarks/results/h100-2026-12-06/session15
step "GPU tests: block layout, strided reads, int32 offsets, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py \
  -k "block or strided or int32 or recompute" 2>&1 | tail -3
step "main's block forward, channels 2^30 apart"
PYTHONPATH=/tmp/site:$ROOT timeout 60 python3 $S15/overflow_main.py 2>&1 | tail -4
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "scan_versions against main's block file"
timeout 150 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 3 \
  --out "$OUT" 2>&1 | tail -12
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 100 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "host and event time, main against this"
PYTHONPATH=/tmp/site:$ROOT timeout 90 python3 $S15/host_ab.py 2>&1 | tee "$OUT/host_ab.md"
step "end"
