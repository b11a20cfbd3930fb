#!/usr/bin/env bash
# Issue 14, session 16, call 2, on branch s16 at 3c8e77c: WIDE, the sums' own buffer, the
# carries in the chunk's layout (forward and backward), dB/dC's atomics as on main, and the
# launch-addresses patch dropped.
#  1. GPU tests of the block layout, strided reads, the int32 case, recomputation (beside
#     the peer's build)
#  2. scan_versions against main's block file (3 rounds), then against this file with the
#     backward's carries as on main (.gpu/triton_block_scan_fwdonly.py, 2 rounds, to 64K)
#  3. the scan and training tables beside mamba_ssm
#  4. held_sums.py: what D.grad keeps alive at 2^20, main against this
#  5. host and event time against main (host_ab.py)
#  6. the whole gpu suite, -n 4, alone on the machine (the peer built by then)
# Carry [".whl", ".peer", ".gpu"]; .gpu/ as in s16_call1.sh, plus the fwdonly file:
#   sed the two _put_end calls of the backward back to _put(..., offs_l, 0)
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_main.py kernels/
S15=benchmarks/results/h100-2026-12-06/session15
S16=benchmarks/results/h100-2026-12-06/session16
step "GPU tests: block layout, strided reads, int32 offsets, recomputation"
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider \
  tests/kernels/test_triton_scan.py tests/core/test_recompute.py \
  -k "block or strided or int32 or recompute" 2>&1 | tail -3
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "scan_versions against main's block file"
timeout 120 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_main.py --rounds 3 \
  --out "$OUT" 2>&1 | tail -9
step "scan_versions against the backward's carries as on main"
mkdir -p "$OUT/fwdonly"
timeout 60 python3 -m benchmarks.scan_versions .gpu/triton_block_scan_fwdonly.py --rounds 2 \
  --max-length 65536 --out "$OUT/fwdonly" 2>&1 | tail -7
step "scan table beside mamba_ssm"
timeout 100 python3 -m benchmarks.scan --ref-max-log2 9 --out "$OUT" 2>&1 | tail -16
step "training beside mamba_ssm"
timeout 100 python3 -m benchmarks.training --preset all --steps 3 --out "$OUT" 2>&1 | tail -9
step "what D.grad keeps at 2^20"
PYTHONPATH=/tmp/site:$ROOT timeout 40 python3 $S16/held_sums.py 2>&1 | tail -4
step "host and event time, main against this"
PYTHONPATH=/tmp/site:$ROOT timeout 80 python3 $S15/host_ab.py 2>&1 | tee "$OUT/host_ab.md"
step "gpu suite, -n 4 --dist loadfile"
timeout 200 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests 2>&1 \
  | tail -3
step "end"
