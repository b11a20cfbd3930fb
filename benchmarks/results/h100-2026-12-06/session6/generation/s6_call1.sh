#!/usr/bin/env bash
# Issue 15, session 6: main vs x_proj split vs split + early trigger (>= 64 rows) vs out_proj split
# too; the best against mamba_ssm and at a long prompt. carry [".whl", ".gpu", ".peer"]
set -u
ORIG=$PWD; T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
for v in trig main; do mkdir -p /tmp/$v && tar -xzf .gpu/$v.tar.gz -C /tmp/$v; done
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $OUT/device.txt
(cd /tmp/main && MAMBASEQ_PEER_DIR=$ORIG/.peer/mamba_ssm TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=10 python3 -m benchmarks.peer > $OUT/peer_build.log 2>&1; echo "peer build rc $? at $((SECONDS - T0)) s" >> $OUT/peer_build.log) &
PEER=$!
inst() { cd /tmp/$1 && python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1; }
inst trig
echo "setup done at $((SECONDS - T0)) s"
t=$SECONDS
timeout 170 python3 -m pytest -m gpu -q -n 4 --dist loadfile -p no:cacheprovider tests > $OUT/gpu_tests_trig.log 2>&1
echo "gpu tests (trig) rc $? in $((SECONDS - t)) s"; tail -3 $OUT/gpu_tests_trig.log; grep -E "FAILED|Error" $OUT/gpu_tests_trig.log | head -10
t=$SECONDS
timeout 70 python3 -m benchmarks.decode_linear --batches 1 64 --out $OUT/decode_linear > $OUT/decode_linear.log 2>&1
echo "decode_linear rc $? in $((SECONDS - t)) s"; grep "^|" $OUT/decode_linear.log | head -24
wait $PEER; tail -1 $OUT/peer_build.log
G="--sizes 1.4B --sections throughput --state-dtypes float32 bfloat16 --batches 1 16 64 128"
V="$ORIG/.gpu/s6_variant.py"
for v in notrig plain splitall; do
  t=$SECONDS; timeout 70 python3 $V $v $G --out $OUT/gen_$v > $OUT/gen_$v.log 2>&1; echo "$v rc $? $((SECONDS - t)) s"
done
inst main
t=$SECONDS; timeout 70 python3 $V plain $G --out $OUT/gen_main > $OUT/gen_main.log 2>&1; echo "main rc $? $((SECONDS - t)) s"
for v in main notrig plain splitall; do echo "== $v"; grep -A12 "^### throughput" $OUT/gen_$v.log | grep "^| 1.4B" | cut -d'|' -f2-7,10; done
BEST=$(python3 $ORIG/.gpu/s6_pick.py $OUT/gen_main $OUT/gen_notrig $OUT/gen_plain $OUT/gen_splitall | tee $OUT/pick.txt | tail -1); cat $OUT/pick.txt
case $BEST in main) VB=plain;; *) inst trig; VB=$BEST;; esac
echo "best: $BEST (tree $( [ $BEST = main ] && echo main || echo trig ), patches $VB)"
export MAMBASEQ_PEER_DIR=$ORIG/.peer/mamba_ssm TORCH_CUDA_ARCH_LIST=9.0
for size in 1.4B 130M; do
  left=$((555 - (SECONDS - T0))); [ $left -lt 40 ] && { echo "no time for the $size peer run"; continue; }
  t=$SECONDS
  timeout $left python3 $V $VB --peer --sizes $size --sections peer --state-dtypes float32 bfloat16 --out $OUT/peer_$size > $OUT/peer_$size.log 2>&1
  echo "$size vs mamba_ssm ($BEST): rc $? in $((SECONDS - t)) s"; grep -A12 "^### vs mamba_ssm" $OUT/peer_$size.log
done
left=$((588 - (SECONDS - T0)))
if [ $left -gt 30 ]; then
  timeout $left python3 $V $VB --sizes 1.4B --sections long --state-dtypes float32 bfloat16 --out $OUT/long > $OUT/long.log 2>&1
  echo "long rc $?"; grep -A6 "^### per-token latency" $OUT/long.log
fi
echo "end at $((SECONDS - T0)) s"
