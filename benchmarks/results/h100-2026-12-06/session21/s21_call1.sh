#!/usr/bin/env bash
# Issue 14, session 21, call 1, on the working tree (the host path's trims) with main
# (7dd9cdb) beside it: the whole gpu suite; where a short scan's time goes (diag.py: kernel
# GPU times by chunk length and warps, then, with mamba_ssm built, its kernels and the host
# parts); host_parts.py main / this / mamba_ssm. Carry [".whl", ".peer", ".gpu"]; .gpu/ from
# s21_prepare.sh.
set -u
export TORCH_CUDA_ARCH_LIST=9.0
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh
cp .gpu/triton_launch_m21.py kernels/
S19=benchmarks/results/h100-2026-12-06/session19
S21=benchmarks/results/h100-2026-12-06/session21
step "gpu suite"
timeout 150 python3 -m pytest -m gpu -q -n 4 -p no:cacheprovider tests 2>&1 \
  | tee "$OUT/gpu_tests.log" | tail -3
step "diag E A (kernel times)"
PYTHONPATH=/tmp/site:$ROOT timeout 120 python3 $S21/diag.py E A > "$OUT/diag_kernels.md" 2>&1
grep -A12 "### E" "$OUT/diag_kernels.md"
step "mamba_ssm's selective_scan_cuda"
wait $PEER; tail -1 /tmp/peer.log
step "diag M B D C (mamba's kernels; host)"
PYTHONPATH=/tmp/site:$ROOT timeout 120 python3 $S21/diag.py M B D C > "$OUT/diag_host.md" 2>&1
grep -A5 "### B\|### D" "$OUT/diag_host.md"
step "host parts at 512"
PYTHONPATH=/tmp/site:$ROOT timeout 90 python3 $S19/host_parts.py --rounds 3 \
  main=.gpu/v_m21.py this=. 2>&1 | tee "$OUT/host_parts.md" | tail -14
step "end"
