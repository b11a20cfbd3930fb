# Sourced by this folder's call scripts, from the repository root on the device machine: the
# carried wheels into /tmp/site, the project installed without its dependencies, step() for
# timed headings, and mamba_ssm's selective_scan_cuda built in the background (pid $PEER;
# not where NO_PEER=1 is set: a call without the peer's tables).
T0=$SECONDS
ROOT=$PWD
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1
nvidia-smi --query-gpu=name --format=csv,noheader
step() { echo "== $1 at $((SECONDS - T0)) s"; }
if [ "${NO_PEER:-0}" != 1 ]; then
  export MAMBASEQ_PEER_DIR=$ROOT/.peer/mamba_ssm
  (TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=10 python3 -m benchmarks.peer > /tmp/peer.log 2>&1) &
  PEER=$!
fi
