"""Classification metrics through scikit-learn (accuracy, macro-F1, confusion matrix) and the
confusion matrix written beside a run as CSV and PNG."""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib
import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)


def classification_metrics(targets: np.ndarray, preds: np.ndarray, num_classes: int
                           ) -> tuple[dict[str, float], np.ndarray]:
    """targets, preds (n,) class indices -> ({"accuracy", "f1_macro"}, confusion (num_classes,
    num_classes) int64 with rows = true class, columns = predicted class). Macro-F1 averages
    over every class, a class never predicted counting 0."""
    labels = list(range(num_classes))
    metrics = {"accuracy": float(accuracy_score(targets, preds)),
               "f1_macro": float(f1_score(targets, preds, labels=labels, average="macro",
                                          zero_division=0))}
    return metrics, confusion_matrix(targets, preds, labels=labels).astype(np.int64)


def write_confusion_matrix(confusion: np.ndarray, classes: list[str], run_dir: str | Path,
                           title: str = "", name: str = "confusion_matrix") -> tuple[Path, Path]:
    """Writes ``name.csv`` (header: true\\predicted, then one row per true class) and
    ``name.png`` (row-normalised colours, counts written in the cells) into ``run_dir``;
    returns their paths."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = run_dir / f"{name}.csv", run_dir / f"{name}.png"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["true\\predicted", *classes])
        for name, row in zip(classes, confusion.tolist()):
            writer.writerow([name, *row])
    rows = confusion.sum(1, keepdims=True)
    fractions = confusion / np.maximum(rows, 1)
    size = 1.2 + 0.6 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(fractions, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, str(confusion[i, j]), ha="center", va="center",
                    color="white" if fractions[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return csv_path, png_path
