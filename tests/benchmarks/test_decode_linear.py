"""benchmarks/decode_linear.py refuses a batch below one in one line, exit 2, before anything
runs (no GPU needed to check it)."""
import subprocess
import sys


def test_batches_below_one_exit_2_with_one_line() -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.decode_linear", "--batches", "4", "0"],
                         capture_output=True, text=True)
    assert run.returncode == 2 and not run.stdout
    assert "--batches takes row counts >= 1, got [4, 0]" in run.stderr.strip().splitlines()[-1]
