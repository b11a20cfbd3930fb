"""benchmarks/gpu_test_variants.py counts, on a CPU, the Triton variants the gpu tests compile:
kernels shared where the specialisation matches, new ones where a dtype or flag differs, and
the conv autotuning test compiling nothing of its own (it reuses the first conv row's)."""
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMALL_OPS = "tests/kernels/test_triton_small_ops.py"


def test_counts_compiled_variants_per_test():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_test_variants.py", SMALL_OPS,
         "-k", "2048-fp32-dim-major or autotunes_once or step_gpu or rms-fp32"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**env, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {m[1]: (int(m[2]), int(m[3])) for m in re.finditer(
        rf"^\| {re.escape(SMALL_OPS)}::(\S+) \| (\d+) \| (\d+) \|", proc.stdout, re.M)}
    assert rows == {
        "test_conv_gpu[2048-fp32-dim-major]": (3, 0),      # a forward, two backward configs
        "test_step_gpu[no-groups-fp32]": (1, 0),
        "test_step_gpu[no-groups-bf16]": (1, 0),           # another dtype: another variant
        "test_step_gpu[groups4-fp32]": (0, 0),             # groups: the same kernel
        "test_step_gpu[groups4-bf16]": (0, 0),
        "test_norm_gpu[add-rms-fp32]": (2, 0),             # forward and backward
        "test_norm_gpu[rms-fp32]": (2, 0),                 # other flags: other variants
        "test_conv_autotunes_once_per_power_of_two_of_length": (0, 3)}, proc.stdout[-3000:]
    assert "9 variants, 3 tuning keys" in proc.stdout


def test_the_scan_takes_the_layout_an_h100_would():
    """2 x 1536 channel rows run in the block layout on an H100 (a forward and a backward
    launch), not the tiles a CPU device gets; 2 x 200 in tiles (a chunk pass, a combine and a
    scan each way)."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    scan_tests = "tests/kernels/test_triton_scan.py"
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_test_variants.py", scan_tests, "-k",
         "test_scan_matches_float64_gpu and "
         "(1536l2048n16gNone-float32 or d200l999n16gNone-float32)"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**env, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    launches = {m[1]: int(m[2]) for m in re.finditer(
        rf"^\| {re.escape(scan_tests)}::(\S+) \| \d+ \| \d+ \| (\d+) \|", proc.stdout, re.M)}
    assert launches == {"test_scan_matches_float64_gpu[b2d1536l2048n16gNone-float32]": 2,
                        "test_scan_matches_float64_gpu[b2d200l999n16gNone-float32]": 6}, \
        proc.stdout[-3000:]
    assert "_block_fwd_kernel" in proc.stdout and "_chunk_state_kernel" in proc.stdout
