#!/usr/bin/env bash
# Issue 16, session 6: one 7M cell at 168 steps, resumed from RESUME. carry [".whl", ".devdata"]; run from the repository root
set -u
T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . > /dev/null 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $OUT/device.txt
echo "setup done at $((SECONDS - T0)) s"
SIZE="{d_model: 256, n_layer: 16}" AC=true MEM=0 CELLS="$CELLS" END=${END:-570} \
  EXTRA="trainer.max_steps=168 optim.warmup_steps=18" \
  bash benchmarks/scale_calls.sh .devdata/great_apes_chr22 "$OUT/x" "$RESUME" 2>&1 | tee $OUT/call.log | grep -v "^\s*$" | tail -40
echo "end at $((SECONDS - T0)) s"
