#!/usr/bin/env bash
# Issue 14, session 21, call 4 (run as one command line on call 3's warm machine; a first try
# with mamba_ssm beside started its build again, since the carried sources were new, and ran
# out its 150 s with nothing printed): host_parts.py, 5 rounds, main / this without the
# grouped du, dΔ, dz (nogroup) / this (call 3's tree). Carry [".whl", ".gpu"].
export NO_PEER=1
source benchmarks/results/h100-2026-12-06/session10/device_setup.sh >/dev/null 2>&1
cp .gpu/triton_launch_m21.py kernels/
unset MAMBASEQ_PEER_DIR
S19=benchmarks/results/h100-2026-12-06/session19
PYTHONPATH=/tmp/site:$PWD timeout 100 python3 $S19/host_parts.py --rounds 5 main=.gpu/v_m21.py \
  nogroup=.gpu/v_nogroup.py this=. 2>&1 | tee $OUT/host_parts5.md | tail -20
