#!/usr/bin/env bash
# HG38's recipe at two contexts on the shared human chr22 (issue 16): configs/dna/hg38_1k.yaml
# and configs/dna/hg38_16k.yaml with data.bed=null (all of train/Hsap.fa.gz trains, 17.9 Mb;
# val/Hsap.fa.gz validates), the same 2^17 tokens a step and the same steps, so equal tokens.
# On one GPU, from the repository root:
#   bash benchmarks/human_chr22_pair.sh APES_DIR OUT [STEPS=1500]
# APES_DIR: the great_apes_chr22 folder. Writes OUT/runs (both runs), OUT/<run>.log and the
# table OUT/human_chr22.md + .csv (benchmarks/pretrain_table.py): tokens/s, peak GPU memory,
# validation bits per base. PRETRAIN_OVERRIDES (key=value ...) is passed on to both runs.
set -euo pipefail
apes=${1:?APES_DIR}; out=${2:?OUT}; steps=${3:-1500}
[[ $steps =~ ^[1-9][0-9]*$ ]] || { echo "STEPS=$steps: a positive number of steps" >&2; exit 2; }
mkdir -p "$out"

train() {
  local name=$1; shift
  mambaseq pretrain "$@" data.bed=null data.fasta="$apes/train/Hsap.fa.gz" \
    data.val_fasta="$apes/val/Hsap.fa.gz" trainer.run_name="$name" \
    trainer.output_dir="$out/runs" trainer.max_steps="$steps" \
    optim.warmup_steps=$(( (steps + 9) / 10 )) trainer.progress_bar=false \
    ${PRETRAIN_OVERRIDES:-} 2>&1 | tee "$out/$name.log"
}
train human-chr22-1k configs/dna/hg38_1k.yaml
train human-chr22-16k configs/dna/hg38_16k.yaml

python3 -m benchmarks.pretrain_table "$out" human-chr22-1k human-chr22-16k --stem human_chr22
