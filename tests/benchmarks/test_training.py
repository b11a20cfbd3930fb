"""benchmarks/training.py --smoke runs one CPU step (no timing is checked)."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_training_benchmark_smoke():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "training.py"), "--smoke"],
                          cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| ours | d 16 x 1 | L 32 |" in proc.stdout
