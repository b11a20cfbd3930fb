#!/usr/bin/env bash
# Here (CPU), from the repository root of the working tree of call 3, after s21_prepare.sh:
# the versions call 3 compares besides main and this tree, in the ignored .gpu/ (carry it):
# main's block file on this launcher (v_m21l), this tree without the sums zeroed by the
# forward (v_noearly) and without the grouped du/dΔ/dz (v_nogroup).
set -eu
git show 7dd9cdb:kernels/triton_block_scan.py > .gpu/v_m21l.py
sed 's/^EARLY_SUMS_MAX_BYTES = 1 << 20$/EARLY_SUMS_MAX_BYTES = 0/' kernels/triton_block_scan.py \
  > .gpu/v_noearly.py
sed 's/^GROUPED_GRADS_MAX_BYTES = 16 << 20$/GROUPED_GRADS_MAX_BYTES = 0/' \
  kernels/triton_block_scan.py > .gpu/v_nogroup.py
grep -c "EARLY_SUMS_MAX_BYTES = 0" .gpu/v_noearly.py
grep -c "GROUPED_GRADS_MAX_BYTES = 0" .gpu/v_nogroup.py
