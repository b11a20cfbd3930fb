#!/usr/bin/env bash
# YouTubeMix at a million samples against SaShiMi's length (issue 15): configs/audio/youtubemix.yaml
# (crops of 960,000 samples = 60 s, batch 1) and configs/audio/youtubemix_8s.yaml at 120,000
# samples (7.5 s) x batch 8, so both train on 960,000 samples a step, for the same number of
# steps. On one GPU:
#   bash benchmarks/youtubemix_pair.sh PIANO_ROOT OUT [STEPS=100]
# PIANO_ROOT: a folder of piano WAV/FLAC files (../shared/tools/make_piano_mix.sh writes a
# YouTubeMix-style stand-in). Writes OUT/runs (both runs), OUT/<run>.log and the table
# OUT/youtubemix.md + .csv: training samples/s (the median of the progress lines after the
# first), peak GPU memory, validation bits per sample. PRETRAIN_OVERRIDES (key=value ...) is
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

python3 - "$out" youtubemix-60s youtubemix-7p5s <<'PY'
import csv, re, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = []
for name in sys.argv[2:]:
    text = (out / f"{name}.log").read_text()
    rates = [float(r.replace(",", "")) for r in re.findall(r"step \d+/\d+.*?([\d,]+) tokens/s", text)]
    shape = re.search(r"(\d+) steps of (\d+) x (\d+) samples", text)
    bits = re.search(r"validation: ([\d.]+) bits per sample", text)
    peak = re.search(r"peak GPU memory: ([\d.]+) GiB", text)
    rows.append({"run": name, "crop_samples": shape and shape[3], "batch": shape and shape[2],
                 "steps": shape and shape[1],
                 "samples_per_s": round(statistics.median(rates[1:] or rates)) if rates else "",
                 "peak_gib": peak[1] if peak else "", "val_bits_per_sample": bits[1] if bits else ""})
with open(out / "youtubemix.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
lines += ["| " + " | ".join(str(v) for v in row.values()) + " |" for row in rows]
(out / "youtubemix.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
