"""Training loss by step of the 7M cells at 168 steps (every length measured so far), from the
metrics.csv files inside the calls' logs.tgz (the loss of every 8th step, nats a base), drawn
as the mean of three such points (steps t-16, t-8, t): the long windows' few sequences a step
make the per-step loss noisy. Writes train_loss_7m.png here.

    python benchmarks/results/h100-2026-12-06/session7/plot_train_loss.py
"""
import csv
import io
import tarfile
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent
CELLS = {"2^10, seed 0": (RESULTS / "session5/scale_b/logs.tgz", "L1024_d256_n16_s0"),
         "2^10, seed 1": (RESULTS / "session5/scale_b/logs.tgz", "L1024_d256_n16_s1"),
         "2^14": (HERE / "logs.tgz", "L16384_d256_n16_s0"),
         "2^16": (HERE / "logs.tgz", "L65536_d256_n16_s0"),
         "2^18": (HERE / "logs.tgz", "L262144_d256_n16_s0"),
         "2^20": (RESULTS / "session6/scale_20/x/logs.tgz", "L1048576_d256_n16_s0")}


def losses(archive: Path, run: str) -> list[tuple[int, float]]:
    """(step, training loss) pairs of one cell's metrics.csv inside ``archive``."""
    with tarfile.open(archive) as tar:
        name = next(n for n in tar.getnames() if run in n and n.endswith("metrics.csv"))
        rows = csv.DictReader(io.TextIOWrapper(tar.extractfile(name)))
        return [(int(r["step"]) + 1, float(r["train/loss"])) for r in rows if r["train/loss"]]


def draw(cells: dict[str, tuple[Path, str]], png: Path) -> None:
    """One curve a cell (label -> (logs archive, run name)); prints every 32nd step's value
    and writes ``png``."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, (archive, run) in cells.items():
        points = losses(archive, run)
        mean = [(points[i][0], sum(v for _, v in points[i - 2:i + 1]) / 3)
                for i in range(2, len(points))]
        ax.plot(*zip(*mean), label=label)
        print(f"{label}: " + ", ".join(f"{s}: {v:.3f}" for s, v in mean if s % 32 == 0))
    ax.set_xlabel("step (2^20 tokens each)")
    ax.set_ylabel("training loss, nats a base (3-point mean)")
    ax.set_title("7M model, 168 steps: the drop comes later in longer windows")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(png)


if __name__ == "__main__":
    draw(CELLS, HERE / "train_loss_7m.png")
