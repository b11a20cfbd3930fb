"""Training loss by step of the 7M cells at 168 steps (2^10 seeds 0 and 1, 2^20 seed 0), from
the metrics.csv files inside the calls' logs.tgz (the loss of every 8th step), with the mean
of three such points (steps t-16, t-8, t) beside them: the 2^20 cell's single window a step
makes its per-step loss noisy. Writes train_loss_7m.png here.

    python benchmarks/results/h100-2026-12-06/session6/plot_train_loss.py
"""
import csv
import io
import tarfile
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
CELLS = {"2^10, seed 0": (HERE.parent / "session5/scale_b/logs.tgz", "L1024_d256_n16_s0"),
         "2^10, seed 1": (HERE.parent / "session5/scale_b/logs.tgz", "L1024_d256_n16_s1"),
         "2^20, seed 0": (HERE / "scale_20/x/logs.tgz", "L1048576_d256_n16_s0")}


def losses(archive: Path, run: str) -> list[tuple[int, float]]:
    with tarfile.open(archive) as tar:
        name = next(n for n in tar.getnames() if run in n and n.endswith("metrics.csv"))
        rows = csv.DictReader(io.TextIOWrapper(tar.extractfile(name)))
        return [(int(r["step"]) + 1, float(r["train/loss"])) for r in rows if r["train/loss"]]


fig, ax = plt.subplots(figsize=(7, 4))
for label, (archive, run) in CELLS.items():
    points = losses(archive, run)
    line, = ax.plot(*zip(*points), alpha=0.3, linewidth=1)
    mean = [(points[i][0], sum(v for _, v in points[i - 2:i + 1]) / 3)
            for i in range(2, len(points))]
    ax.plot(*zip(*mean), color=line.get_color(), label=label)
ax.set_xlabel("step (2^20 tokens each)")
ax.set_ylabel("training loss, nats a base")
ax.set_title("7M model, 168 steps: the drop comes later at 2^20")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(HERE / "train_loss_7m.png", dpi=120)
print(HERE / "train_loss_7m.png")
