"""benchmarks/training.py --smoke runs one CPU step of ours and writes its table (no timing is
checked); a preset length that does not exist is refused with exit code 2."""
import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.training", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_training_benchmark_smoke(tmp_path):
    proc = run("--smoke", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| smoke | 16 x 1 | 32 | 2 | ours |" in proc.stdout
    rows = list(csv.DictReader(open(tmp_path / "training.csv")))
    assert [(r["impl"], r["length"], r["batch"]) for r in rows] == [("ours", "32", "2")]
    assert int(rows[0]["params"]) > 0 and float(rows[0]["tokens_per_s"]) > 0
    assert (tmp_path / "training.md").read_text().startswith("| preset |")


def test_training_benchmark_refuses_unknown_preset_length():
    proc = run("--preset", "lm-130m", "--length", "5")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("benchmarks/training.py: --length 5 is not a length of "
                                   "preset 'lm-130m'")
