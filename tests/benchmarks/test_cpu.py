"""benchmarks/cpu.py runs: its --smoke mode trains our model in a worker process and writes
the CSV (no timing is checked: benchmarks never fail tests)."""
import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cpu_benchmark_smoke(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "cpu.py"), "--smoke",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "cpu.csv")))
    assert [(r["impl"], r["length"], r["status"]) for r in rows] == [("ours", "64", "ok")]
    assert float(rows[0]["step_s"]) > 0 and "| 1 x 64 |" in proc.stdout
