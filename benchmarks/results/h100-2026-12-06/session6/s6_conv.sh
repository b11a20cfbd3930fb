#!/usr/bin/env bash
# Issue 14, session 6: the two-kernel conv backward (branch conv-bwd) against main's one kernel.
# carry [".whl", ".gpu"]
set -u
ORIG=$PWD; T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
mkdir -p /tmp/c && tar -xzf .gpu/conv.tar.gz -C /tmp/c && cd /tmp/c
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
cp $ORIG/.gpu/triton_conv_main.py kernels/triton_conv_main.py
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $OUT/device.txt
echo "setup done at $((SECONDS - T0)) s"
t=$SECONDS
timeout 90 python3 $ORIG/.gpu/s6_conv_ab.py > $OUT/conv_ab.log 2>&1; echo "conv ab rc $? in $((SECONDS - t)) s"; cat $OUT/conv_ab.log | tail -8
t=$SECONDS
timeout 120 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests/kernels/test_triton_small_ops.py tests/core/test_recompute.py -k 'conv or recompute' > $OUT/gpu_tests.log 2>&1
echo "gpu tests rc $? in $((SECONDS - t)) s"; tail -2 $OUT/gpu_tests.log; grep -E "FAILED|Error" $OUT/gpu_tests.log | head
for round in 1; do
  for impl in new main; do
    left=$((575 - (SECONDS - T0))); [ $left -lt 45 ] && { echo "no time for $impl r$round"; continue; }
    t=$SECONDS
    if [ $impl = new ]; then timeout $left python3 -m benchmarks.training --preset all --no-peer --steps 5 --out $OUT/train_${impl}_r$round > $OUT/train_${impl}_r$round.log 2>&1
    else timeout $left python3 $ORIG/.gpu/s6_swap.py --preset all --no-peer --steps 5 --out $OUT/train_${impl}_r$round > $OUT/train_${impl}_r$round.log 2>&1; fi
    echo "training $impl r$round: rc $? in $((SECONDS - t)) s"; grep "^| " $OUT/train_${impl}_r$round.log | grep -v "^| preset\|^|---" | cut -d'|' -f2-8
  done
done
echo "end at $((SECONDS - T0)) s"
