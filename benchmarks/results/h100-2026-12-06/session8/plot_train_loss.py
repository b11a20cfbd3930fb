"""Training loss by step of the 7M cells at 168 steps (every length, 2^10 to 2^20): session 7's
plot (``session7/plot_train_loss.py``, whose ``draw`` this calls) with the 2^12 cell added
(its metrics.csv is in logs_2e12.tgz here). Writes train_loss_7m.png here.

    python benchmarks/results/h100-2026-12-06/session8/plot_train_loss.py
"""
import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent
spec = importlib.util.spec_from_file_location("session7_plot_train_loss",
                                              RESULTS / "session7/plot_train_loss.py")
session7 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(session7)

CELLS = dict(session7.CELLS)
CELLS["2^12"] = (HERE / "logs_2e12.tgz", "L4096_d256_n16_s0")
CELLS = dict(sorted(CELLS.items(), key=lambda item: int(item[0][2:4].rstrip(","))))

if __name__ == "__main__":
    session7.draw(CELLS, HERE / "train_loss_7m.png")
