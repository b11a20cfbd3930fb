#!/usr/bin/env bash
# YouTubeMix at a million samples against SaShiMi's length (issue 15): configs/audio/youtubemix.yaml
# (crops of 960,000 samples = 60 s, batch 1) and configs/audio/youtubemix_8s.yaml at 120,000
# samples (7.5 s) x batch 8, so both train on 960,000 samples a step, for the same number of
# steps. On one GPU:
#   bash benchmarks/youtubemix_pair.sh PIANO_ROOT OUT [STEPS=100]
# PIANO_ROOT: a folder of piano WAV/FLAC files (../shared/tools/make_piano_mix.sh writes a
# YouTubeMix-style stand-in). Writes OUT/runs (both runs), OUT/<run>.log and the table
# OUT/youtubemix.md + .csv (benchmarks/pretrain_table.py): training samples/s (the median of
# the progress lines after the first), peak GPU memory, validation bits per sample. Run it
# from the repository root. PRETRAIN_OVERRIDES (key=value ...) is
# passed on to both runs (e.g. trainer.accelerator=cpu and tiny sizes for a check on a CPU).
set -euo pipefail
root=${1:?PIANO_ROOT}; out=${2:?OUT}; steps=${3:-100}
mkdir -p "$out"

train() {
  local name=$1; shift
  mambaseq pretrain "$@" data.root="$root" trainer.run_name="$name" \
    trainer.output_dir="$out/runs" trainer.max_steps="$steps" \
    optim.warmup_steps=$(( (steps + 9) / 10 )) trainer.val_every_n_steps="$steps" \
    trainer.checkpoint_every_n_steps="$steps" trainer.log_every_n_steps=10 \
    ${PRETRAIN_OVERRIDES:-} 2>&1 | tee "$out/$name.log"
}
train youtubemix-60s configs/audio/youtubemix.yaml
train youtubemix-7p5s configs/audio/youtubemix_8s.yaml data.seq_len=120000

python3 -m benchmarks.pretrain_table "$out" youtubemix-60s youtubemix-7p5s --stem youtubemix
