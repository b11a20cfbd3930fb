#!/usr/bin/env bash
# The species table of issue 16 (great apes, the Mamba paper's section 4.3.3 recipe as shipped
# in configs/dna/great_apes_{1k,16k,1m}.yaml) in pieces that fit one 10-minute GPU call each:
#   bash benchmarks/species_calls.sh APES_DIR OUT [RESUME_DIR]
# APES_DIR: the great_apes_chr22 folder (train/*.fa.gz, val/*.fa.gz); OUT: where the results go;
# RESUME_DIR: a folder holding the previous call's species.csv (its runs are skipped).
# From scratch by default; PRETRAINED_<length> (a `mambaseq pretrain` model.pt of the same
# shape) starts that length's runs from a language model's backbone, as the paper's Figure 6
# fine-tunes models pretrained at the same context; benchmarks/human_chr22_pair.sh OUT/hg
# leaves them in OUT/hg/runs/human-chr22-{1k,16k}/model.pt.
# One `mambaseq finetune` process per run, in the order of $RUNS ("length:architecture" or
# "length:architecture:pooling"; length 1k, 16k or 1m; architecture causal (last-position
# pooling, as shipped) or rc (rc_equivariant, mean pooling); a pooling of mean or max, or last
# for causal only, overrides that), while the time lasts: a run gets the time left before END
# as its timeout, and a killed run leaves no row (the next call runs it again). Each run
# trains STEPS_<length> steps with half of them linear warm-up (the recipe's 5 of 10 epochs),
# and at 1m a sequence-length warm-up of STEPS_1m / 8 steps at each of 2^14 ... 2^19 (the
# recipe's proportions).
# Writes OUT/species.csv (one row per finished run: length, architecture, pooling, init
# (scratch or the pretrained model's run folder), steps, minutes of training, validation
# accuracy, macro-F1, chance, validation windows; a run is skipped when a row of its length,
# architecture, pooling and init is there), OUT/species.md, OUT/runs/*.log.
# Env: RUNS (default "1k:causal 1k:rc 16k:causal 16k:rc 1m:causal 1m:rc"), STEPS_1k (2048),
# STEPS_16k (400), STEPS_1m (384), END (s after the start by which runs must end; 545),
# PRETRAINED_1k, PRETRAINED_16k, PRETRAINED_1m (unset: from scratch), EXTRA: more overrides
# for every run (toy runs on a CPU).
set -uo pipefail
APES=${1:?APES_DIR}; OUT=${2:?OUT}; RESUME=${3:-}
RUNS=${RUNS:-"1k:causal 1k:rc 16k:causal 16k:rc 1m:causal 1m:rc"}
END=${END:-545}
read -r -a EXTRA_ARGS <<< "${EXTRA:-}"
for run in $RUNS; do          # every run named right before anything is written
  IFS=: read -r len arch pool extra <<< "$run"
  case $len in 1k|16k|1m) ;; *) echo "RUNS: unknown length $len in $run (1k, 16k, 1m)" >&2; exit 2;; esac
  case $arch in causal|rc) ;; *) echo "RUNS: unknown architecture $arch in $run (causal, rc)" >&2; exit 2;; esac
  case $arch:${pool:-}:${extra:-} in
    causal:: | causal:last: | causal:mean: | causal:max: | rc:: | rc:mean: | rc:max:) ;;
    *) echo "RUNS: pooling ${run#*:*:} in $run (causal: last, mean or max; rc: mean or max)" >&2
       exit 2;;
  esac
  pretrained_var=PRETRAINED_$len
  if [ -n "${!pretrained_var:-}" ] && [ ! -f "${!pretrained_var}" ]; then
    echo "$pretrained_var=${!pretrained_var}: no such model file" >&2; exit 2
  fi
done
: "${STEPS_1k:=2048}" "${STEPS_16k:=400}" "${STEPS_1m:=384}"
for v in STEPS_1k STEPS_16k STEPS_1m; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v=${!v}: a positive number of steps" >&2; exit 2; }
done
CSV=$OUT/species.csv
HEADER=length,architecture,pooling,init,steps,train_minutes,val_accuracy,val_f1_macro,chance,windows
previous=$CSV
if [ -n "$RESUME" ] && [ -f "$RESUME/species.csv" ]; then previous=$RESUME/species.csv; fi
if [ -f "$previous" ] && [ "$(head -1 "$previous")" != "$HEADER" ]; then
  echo "$previous: its header is not $HEADER (a species.csv of another version of this script)" >&2
  exit 2
fi
mkdir -p "$OUT/runs"
if [ "$previous" != "$CSV" ]; then cp "$previous" "$CSV"; fi
[ -f "$CSV" ] || echo "$HEADER" > "$CSV"

for run in $RUNS; do
  IFS=: read -r len arch pool <<< "$run"
  case $arch in
    causal) arch_args=(); architecture=causal; pooling=${pool:-last};;
    rc) arch_args=(classifier.architecture=rc_equivariant)
        architecture=rc_equivariant; pooling=${pool:-mean};;
  esac
  arch_args+=("classifier.pooling=$pooling")
  pretrained_var=PRETRAINED_$len; pretrained=${!pretrained_var:-}
  init=scratch; init_args=()
  if [ -n "$pretrained" ]; then
    init=$(basename "$(dirname "$pretrained")"); init_args=("classifier.pretrained=$pretrained")
  fi
  if awk -F, -v l="$len" -v a="$architecture" -v p="$pooling" -v i="$init" \
      'NR > 1 && $1 == l && $2 == a && $3 == p && $4 == i {f = 1} END {exit !f}' "$CSV"; then
    echo "$len $architecture $pooling $init: in species.csv already"; continue
  fi
  steps_var=STEPS_$len; steps=${!steps_var}
  warm=(); [ "$len" = 1m ] && warm=("data.seq_len_warmup.steps_per_stage=$((steps / 8))")
  left=$((END - SECONDS))
  if [ "$left" -le 60 ]; then
    echo "stop before $len $architecture $pooling $init: ${left} s left"; break
  fi
  name=great-apes-$len-$arch; [ -z "$pool" ] || name=$name-$pool
  [ "$init" = scratch ] || name=$name-from-$init
  t=$SECONDS
  timeout -k 10 "$left" mambaseq finetune "configs/dna/great_apes_$len.yaml" \
    "data.train_dir=$APES/train" "data.val_dir=$APES/val" "trainer.max_steps=$steps" \
    "optim.warmup_steps=$((steps / 2))" "${warm[@]}" "${arch_args[@]}" "${init_args[@]}" \
    "trainer.run_name=$name" \
    "trainer.output_dir=$OUT/runs" trainer.progress_bar=false "${EXTRA_ARGS[@]}" \
    > "$OUT/runs/$name.log" 2>&1
  rc=$?
  echo "$len $architecture $pooling $init: rc $rc in $((SECONDS - t)) s"
  metrics=$OUT/runs/$name/metrics.json
  if [ "$rc" != 0 ] || [ ! -f "$metrics" ]; then grep -i "error" "$OUT/runs/$name.log" | tail -2; continue; fi
  seconds=$(sed -n 's/.* steps of .* bases in \([0-9]*\) s$/\1/p' "$OUT/runs/$name.log" | tail -1)
  windows=$(sed -n 's/.*validation on \([0-9]*\) windows.*/\1/p' "$OUT/runs/$name.log" | tail -1)
  python3 - "$metrics" "$len,$architecture,$pooling,$init,$steps" "${seconds:-0}" "${windows:-}" >> "$CSV" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]},{int(sys.argv[3]) / 60:.1f},{m['val_accuracy']:.4f},"
      f"{m['val_f1_macro']:.4f},{m['chance']:.4f},{sys.argv[4]}")
PY
  tail -1 "$CSV"
done

python3 - "$CSV" > "$OUT/species.md" <<'PY'
import csv, sys
from mambaseq.pipelines.evaluation.reports import markdown_table
rows = list(csv.DictReader(open(sys.argv[1])))
print(markdown_table(rows) if rows else f"{sys.argv[1]}: no finished run yet")
PY
cat "$OUT/species.md"
