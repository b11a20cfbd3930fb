#!/usr/bin/env bash
# Issue 14, session 20, call 1: session 19's unrun call 2 (session19/s19_call2.sh) with one
# version more, "prep" (session 19's patch + dB, dC returned in float32 + du, ddelta, dz
# allocated in the forward where the three take at most 24 MiB). Prepare here with
# session19/s19_prepare.sh, then session20/s20_prepare.sh. Carry [".whl", ".peer", ".gpu"].
VERSIONS="main=.gpu/v_main.py early=.gpu/v_early.py this=. prep=.gpu/v_prep.py" \
HOST_VERSIONS="main=.gpu/v_main.py early=.gpu/v_early.py this=. cast=.gpu/v_cast.py prep=.gpu/v_prep.py" \
  exec bash benchmarks/results/h100-2026-12-06/session19/s19_call2.sh
