#!/usr/bin/env bash
# The SC09 chain in one go (issue 15): the digit classifier, SaShiMi-Mamba pretraining of
# configs/audio/sc09.yaml for a fixed time, 256 generated 1-second clips (timed), batch-1
# decoding speed, NLL on the test split, FID / IS / mIS / AM of the clips beside the test
# set's ceiling, and the waveform statistics of a few clips. On one GPU:
#   bash benchmarks/sc09_chain.sh SC09_ROOT OUT [PRETRAIN_MINUTES=4] [PRETRAIN_STEPS=1500]
# SC09_ROOT: the SC09 layout (digit folders + testing_list.txt; ../shared/tools/
# make_spoken_digits.sh writes a stand-in). Writes OUT/runs (both runs), OUT/samples (clips,
# samples.png), OUT/*.csv and OUT/*.log; prints the tables. For a quick check on a CPU, the
# environment variables CLASSIFIER_OVERRIDES, PRETRAIN_OVERRIDES (key=value ...) and
# GENERATE_OPTIONS (e.g. --num-tokens 64 --device cpu), EVALUATE_OPTIONS (--device cpu) are
# passed on.
set -euo pipefail
root=${1:?SC09_ROOT}; out=${2:?OUT}; minutes=${3:-4}; steps=${4:-1500}
mkdir -p "$out"
log() { tee "$out/$1.log"; }

mambaseq sc09-classifier configs/audio/sc09_classifier.yaml data.root="$root" \
  trainer.output_dir="$out/runs" trainer.max_steps=300 trainer.val_every_n_steps=300 \
  trainer.checkpoint_every_n_steps=300 optim.warmup_steps=50 trainer.log_every_n_steps=50 \
  ${CLASSIFIER_OVERRIDES:-} 2>&1 | log classifier

start=$(date +%s)
mambaseq pretrain configs/audio/sc09.yaml data.root="$root" trainer.output_dir="$out/runs" \
  trainer.max_steps="$steps" trainer.max_minutes="$minutes" optim.warmup_steps=150 \
  trainer.val_every_n_steps=500 trainer.checkpoint_every_n_steps=500 \
  trainer.log_every_n_steps=50 ${PRETRAIN_OVERRIDES:-} 2>&1 | log pretrain
echo "pretraining: $(( $(date +%s) - start )) s wall" | log pretrain_time

model="$out/runs/sc09/model.pt"
mambaseq generate --checkpoint "$model" --num-samples 256 --batch-size 256 \
  --out-dir "$out/samples" ${GENERATE_OPTIONS:-} 2>&1 | log generate_256
mambaseq generate --checkpoint "$model" --num-samples 1 --batch-size 1 \
  --out-dir "$out/batch1" ${GENERATE_OPTIONS:-} 2>&1 | log generate_batch1
mambaseq evaluate --checkpoint "$model" ${EVALUATE_OPTIONS:-} --output "$out/nll.csv" 2>&1 | log nll
mambaseq evaluate --samples "$out/samples" --classifier "$out/runs/sc09-classifier/classifier.pt" \
  --sc09 "$root" ${EVALUATE_OPTIONS:-} --output "$out/metrics.csv" 2>&1 | log metrics

python3 - "$out/samples" <<'PY' 2>&1 | log clip_stats
import sys
from pathlib import Path
import numpy as np
import soundfile as sf
print("clip, seconds, rms, peak, zero crossings / s, fraction |x| < 0.01")
for path in sorted(Path(sys.argv[1]).glob("clip_*.wav"))[:8]:
    x, rate = sf.read(path)
    zc = np.count_nonzero(np.diff(np.signbit(x))) / (len(x) / rate)
    print(f"{path.name}, {len(x) / rate:.2f}, {np.sqrt(np.mean(x ** 2)):.4f}, "
          f"{np.abs(x).max():.4f}, {zc:.0f}, {np.mean(np.abs(x) < 0.01):.3f}")
PY
