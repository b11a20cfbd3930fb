#!/usr/bin/env bash
# The context-length study of issue 16 in pieces that fit one 10-minute GPU call each:
#   bash benchmarks/scale_calls.sh APES_DIR OUT [RESUME_DIR]
# APES_DIR: the great_apes_chr22 folder (train/*.fa.gz, val/*.fa.gz); OUT: where the results go;
# RESUME_DIR: a folder holding the previous call's scale.csv and config.yaml (its cells are
# skipped). Steps, in ~560 s:
#  (a) the 7M model (d_model 256 x 16 blocks) at 2^20: peak memory without and with activation
#      checkpointing (`mambaseq scale`, 2 steps of one 2^20 window each)            ~80 s
#  (b) the context-length sweep of the 1.4M model (configs/scale/great_apes_by_call.yaml,
#      56 steps of 2^20 tokens a cell), one cell per process, in the order of $CELLS, while
#      the time lasts (a cell starts only if 1.25 x the longest cell so far still fits)  the rest
# Resume across calls: pass the previous call's OUT/scale as RESUME_DIR.
# Env: MEM=0 skips (a); CELLS="log2_length:seed ..." (default: 2^10 twice, 2^20, 2^14, 2^17,
# then 2^12, 2^16, 2^18); SIZE="{d_model: 256, n_layer: 16}" for the 7M sweep (AC=true then);
# END (s since this script started, default 545) is when the last cell must be done; EXTRA: more
# overrides for every run (toy runs on a CPU).
set -uo pipefail
APES=${1:?APES_DIR}; OUT=${2:?OUT}; RESUME=${3:-}
CFG=configs/scale/great_apes_by_call.yaml
RUNS=${RUNS:-/tmp/scale_calls_runs}
NAME=scale-great-apes-by-call
SWEEP=$RUNS/$NAME
END=${END:-545}
CELLS=${CELLS:-"10:0 10:1 20:0 14:0 17:0 12:0 16:0 18:0"}
SIZE=${SIZE:-"{d_model: 128, n_layer: 12}"}
MEM_SIZE=${MEM_SIZE:-"{d_model: 256, n_layer: 16}"}
MEM_LOG2=${MEM_LOG2:-20}
AC=${AC:-false}
read -r -a EXTRA_ARGS <<< "${EXTRA:-}"
DATA=("data.fasta=$APES/train/*.fa.gz" "data.val_fasta=$APES/val/*.fa.gz" "data.num_workers=6"
      "trainer.output_dir=$RUNS" "trainer.progress_bar=false")
mkdir -p "$RUNS" "$OUT/scale"
echo "start: ${SECONDS} s"

# (a) 7M model at 2^(MEM_LOG2): peak memory without / with activation checkpointing
if [ "${MEM:-1}" != 0 ]; then
  for ac in false true; do
    t=$SECONDS
    timeout -k 10 100 python3 -m mambaseq.pipelines scale "$CFG" "${DATA[@]}" \
      "sweep.sizes=[$MEM_SIZE]" "sweep.log2_lengths=[$MEM_LOG2]" "sweep.seeds=[0]" \
      "sweep.noise_seeds=[]" "sweep.val_tokens=$((2 ** MEM_LOG2))" trainer.max_steps=2 \
      optim.warmup_steps=1 "trainer.activation_checkpointing=$ac" "trainer.run_name=mem7m-ac-$ac" \
      "${EXTRA_ARGS[@]}" > "$RUNS/mem7m-ac-$ac.log" 2>&1
    echo "(a) activation_checkpointing=$ac: rc $? in $((SECONDS - t)) s"
    grep "^|" "$RUNS/mem7m-ac-$ac.log" | tail -3
  done
  for ac in false true; do
    [ -f "$RUNS/mem7m-ac-$ac/scale.csv" ] || continue
    if [ "$ac" = false ]; then head -1 "$RUNS/mem7m-ac-$ac/scale.csv" | sed 's/^/activation_checkpointing,/'; fi
    tail -n +2 "$RUNS/mem7m-ac-$ac/scale.csv" | sed "s/^/$ac,/"
  done > "$OUT/mem7m.csv"
  echo "(a) done at ${SECONDS} s"; cat "$OUT/mem7m.csv"
fi

# (b) the sweep, one cell per process; finished cells (this call's or carried in) are skipped
mkdir -p "$SWEEP"
if [ -n "$RESUME" ] && [ -f "$RESUME/scale.csv" ]; then
  cp "$RESUME/scale.csv" "$RESUME/config.yaml" "$SWEEP/"
  echo "(b) resuming: $(($(wc -l < "$SWEEP/scale.csv") - 1)) cell(s) carried in"
fi
d_model=$(sed 's/.*d_model: *\([0-9]*\).*/\1/' <<< "$SIZE")
n_layer=$(sed 's/.*n_layer: *\([0-9]*\).*/\1/' <<< "$SIZE")
longest=0
for cell in $CELLS; do
  k=${cell%:*}; seed=${cell#*:}
  if [ -f "$SWEEP/scale.csv" ] && awk -F, -v k="$k" -v s="$seed" -v d="$d_model" -v n="$n_layer" \
      'NR > 1 && $2 == k && $3 == d && $4 == n && $5 == s {found = 1} END {exit !found}' "$SWEEP/scale.csv"; then
    echo "(b) 2^$k seed $seed: in scale.csv already"; continue
  fi
  left=$((END - SECONDS)); need=$((longest * 5 / 4))
  if [ "$left" -le "$need" ] || [ "$left" -le 30 ]; then
    echo "(b) stop before 2^$k seed $seed: ${left} s left, ~${need} s needed"; break
  fi
  t=$SECONDS
  timeout -k 5 "$left" python3 -m mambaseq.pipelines scale "$CFG" "${DATA[@]}" "sweep.sizes=[$SIZE]" \
    "sweep.log2_lengths=[$k]" "sweep.seeds=[$seed]" "sweep.noise_seeds=[]" \
    "trainer.activation_checkpointing=$AC" "${EXTRA_ARGS[@]}" > "$RUNS/cell_L${k}_s${seed}.log" 2>&1
  rc=$?; took=$((SECONDS - t)); [ "$took" -gt "$longest" ] && longest=$took
  echo "(b) 2^$k seed $seed: rc $rc in $took s (at ${SECONDS} s)"
  grep "^|" "$RUNS/cell_L${k}_s${seed}.log" | tail -1; grep -i "error" "$RUNS/cell_L${k}_s${seed}.log" | tail -2
done

# results: the sweep's table and plots (each finished process redrew them), logs
cp "$SWEEP"/scale.csv "$SWEEP"/config.yaml "$SWEEP"/*.png "$OUT/scale/" 2>/dev/null
cd "$RUNS" && tar -czf "$OUT/logs.tgz" --exclude='*.ckpt' --exclude='*.pt' --exclude='*.png' \
  --exclude='hparams.yaml' . 2>/dev/null
echo "end at ${SECONDS} s"; ls -la "$OUT" "$OUT/scale"
column -s, -t < "$OUT/scale/scale.csv" 2>/dev/null || cat "$OUT/scale/scale.csv"
