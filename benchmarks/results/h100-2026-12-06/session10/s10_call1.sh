#!/usr/bin/env bash
# Issue 14, session 10, call 1. Carry [".whl", ".peer", ".gpu"] (.gpu/replay.tar: `git archive`
# of branch recompute-replay). Runs session 9's next_replay.sh on that branch (recompute GPU
# tests, replay A/B, training beside mamba_ssm), then host_profile.py (this folder) on it.
set -u
MAIN=$PWD
mkdir -p /tmp/replay && tar -xf .gpu/replay.tar -C /tmp/replay
ln -s "$MAIN/.whl" /tmp/replay/.whl && ln -s "$MAIN/.peer" /tmp/replay/.peer
cd /tmp/replay
bash benchmarks/results/h100-2026-12-06/session9/next_replay.sh
echo "== host profile at $SECONDS s"
export PYTHONPATH=/tmp/site:$PWD MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm
timeout 90 python3 "$MAIN/benchmarks/results/h100-2026-12-06/session10/host_profile.py"
echo "== end at $SECONDS s"
