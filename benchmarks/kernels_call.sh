#!/usr/bin/env bash
# Issue 14's GPU measurements in one 10-minute call, from the repository root:
#   MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm bash benchmarks/kernels_call.sh OUT
# (.peer from ../shared/tools/prepare_device.sh). pytest-xdist is not on the GPU machine (pytest
# is): carry it in .whl, `python3 -m pip download --no-deps -d .whl pytest-xdist execnet` (both
# pure Python). Stages, each under its own timeout, while
# mamba_ssm's selective_scan_cuda builds in the background (about 130 s, MAX_JOBS=12):
#  1. the `gpu` test suite, 4 processes (pytest-xdist, one test file a process; one process
#     where xdist is missing), timed while
#     the peer builds on the same CPUs (so a pessimistic time)                          <= 200 s
#  2. whole-model training beside mamba_ssm with each step's top kernels
#     (benchmarks/training.py --preset all --profile 15)                                <= 150 s
#  3. the scan table beside mamba_ssm, then our scan by chunk count at 2^9 .. 2^13 and by
#     tiles per saved state with its peak memory
#     (benchmarks/scan.py --ref-max-log2 11 --plans --saved-states)                      the rest
# Writes OUT/gpu_tests.log, OUT/training/, OUT/scan/ and OUT/peer_build.log, and tars them
# into OUT/kernels_call.tgz (a device call returns at most 8 files). END (s, default 550)
# is when the last stage must be done.
set -uo pipefail
OUT=${1:?OUT}; END=${END:-550}
: "${MAMBASEQ_PEER_DIR:?set MAMBASEQ_PEER_DIR to the unpacked mamba_ssm source}"
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} MAX_JOBS=${MAX_JOBS:-12}
mkdir -p "$OUT/training" "$OUT/scan"
left() { echo $((END - SECONDS)); }

( t=$SECONDS; timeout 300 python3 -m benchmarks.peer > "$OUT/peer_build.log" 2>&1
  echo "peer build: rc $? in $((SECONDS - t)) s" >> "$OUT/peer_build.log" ) &
build=$!

# pytest-xdist is not on every GPU machine: without it the suite runs in one process.
if python3 -c "import xdist" 2> /dev/null; then PROCS=(-n 4 --dist loadfile); else PROCS=(); fi
t=$SECONDS
timeout -k 10 200 python3 -m pytest -m gpu -q "${PROCS[@]}" --durations=20 -p no:cacheprovider \
  > "$OUT/gpu_tests.log" 2>&1
echo "1. gpu tests (${PROCS[*]:-one process}): rc $? in $((SECONDS - t)) s"; tail -25 "$OUT/gpu_tests.log"

wait $build; tail -1 "$OUT/peer_build.log"
t=$SECONDS
timeout -k 10 "$(( $(left) < 150 ? $(left) : 150 ))" python3 -m benchmarks.training \
  --preset all --steps 3 --profile 15 --out "$OUT/training" > "$OUT/training/training.log" 2>&1
echo "2. training: rc $? in $((SECONDS - t)) s"; cat "$OUT/training/training.md" 2>/dev/null

t=$SECONDS
timeout -k 10 "$(left)" python3 -m benchmarks.scan --ref-max-log2 11 --plans --saved-states \
  --out "$OUT/scan" > "$OUT/scan/scan.log" 2>&1
echo "3. scan: rc $? in $((SECONDS - t)) s"; grep -v "^#" "$OUT/scan/scan.log" | tail -30

tar -czf "$OUT/kernels_call.tgz" -C "$OUT" gpu_tests.log peer_build.log training scan
