#!/usr/bin/env bash
# Issue 14, session 20, call 3 (NOT RUN: the device time went on starts that found no
# machine): s20_call2.sh on the landed tree (7f9effb), main (2e464ba) against it in 5 rounds,
# with mamba_ssm beside them in host_parts.py. Carry [".whl", ".peer", ".gpu"]; .gpu/ from
# session19/s19_prepare.sh (v_main.py, triton_launch_main.py).
VERSIONS="main=.gpu/v_main.py this=." ROUNDS=5 \
  exec bash benchmarks/results/h100-2026-12-06/session20/s20_call2.sh
