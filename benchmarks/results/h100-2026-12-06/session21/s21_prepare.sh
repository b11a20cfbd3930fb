#!/usr/bin/env bash
# Here (CPU), from the repository root: main's block file and launcher (7dd9cdb) as the
# baseline versions.py and host_parts.py compare against, in the ignored .gpu/ (carry it).
set -eu
mkdir -p .gpu
git show 7dd9cdb:kernels/triton_launch.py > .gpu/triton_launch_m21.py
git show 7dd9cdb:kernels/triton_block_scan.py \
  | sed 's/^from .triton_launch import Launcher$/from .triton_launch_m21 import Launcher/' \
  > .gpu/v_m21.py
grep -c "triton_launch_m21" .gpu/v_m21.py
