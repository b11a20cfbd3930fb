"""Line plots and CSV tables for the study jobs (``synthetic``, ``scale``): PNG files drawn
with matplotlib's Agg backend (no display needed)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def line_plot(path: Path, series: dict[str, tuple[Sequence[float], Sequence[float]]],
              xlabel: str, ylabel: str, title: str, log2_x: bool = True,
              vline: tuple[float, str] | None = None,
              spread: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None) -> Path:
    """Write a PNG with one marked line per ``series`` entry (label -> (xs, ys)); x on a log2
    axis when ``log2_x``; ``vline`` (x, label) draws a dashed vertical reference line;
    ``spread`` (label -> (below, above), one pair of distances per point) draws error bars."""
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for label, (xs, ys) in series.items():
        bars = spread.get(label) if spread else None
        ax.errorbar(xs, ys, yerr=None if bars is None else [bars[0], bars[1]], marker="o",
                    capsize=3, label=label)
    if vline is not None:
        ax.axvline(vline[0], color="grey", linestyle="--", label=vline[1])
    if log2_x:
        ax.set_xscale("log", base=2)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` (dicts with the same keys, in column order) as a CSV with a header."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """``rows`` as a GitHub markdown table; floats with 4 significant digits."""
    def cell(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(row[key]) for key in header) + " |" for row in rows]
    return "\n".join(lines)
