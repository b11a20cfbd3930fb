"""What an exact resume needs beyond Lightning's own checkpoint: the global random number
generators, the run folder's metrics.csv kept (rows after the checkpoint dropped), and the
step a checkpoint was saved at."""
from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


def checkpoint_step(path: Path) -> int:
    """The global step a Lightning checkpoint was saved at (read memory-mapped)."""
    return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["global_step"])


class RNGState(Callback):
    """Saves the global random number generators (Python, NumPy, torch CPU and CUDA) with
    every checkpoint, as they are after the step it was saved at, and restores them just
    before the first training step after a resume, so random draws in the model (dropout,
    noise) continue as in an uninterrupted run."""

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state = {"python": random.getstate(), "torch": torch.get_rng_state(),
                 "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached]}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        torch.set_rng_state(state["torch"])
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


class _KeepingWriter(ExperimentWriter):
    """An ExperimentWriter that keeps the rows of an existing metrics.csv whose step is below
    ``keep_before`` (instead of deleting the file) and appends after them."""

    def __init__(self, log_dir: str, keep_before: int) -> None:
        path = Path(log_dir) / self.NAME_METRICS_FILE
        header, rows = [], []
        if path.is_file():
            with open(path, newline="") as file:
                reader = csv.DictReader(file)
                header = list(reader.fieldnames or [])
                rows = [r for r in reader if r.get("step") and int(float(r["step"])) < keep_before]
        super().__init__(log_dir)
        self.metrics_keys = sorted(header)
        if header:
            with open(path, "w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=self.metrics_keys)
                writer.writeheader()
                writer.writerows(rows)

    def _check_log_dir_exists(self) -> None:
        """The base class deletes metrics.csv here; this writer keeps it."""


class ResumableCSVLogger(CSVLogger):
    """CSVLogger writing ``run_dir/logs/metrics.csv`` after every logging step (so a killed
    run loses no row). With ``resume_step`` (the step of the checkpoint a run resumes from)
    the file's rows of earlier steps are kept and the later ones (logged after that checkpoint
    by the run that was stopped) dropped; without it the file starts afresh."""

    def __init__(self, run_dir: Path, resume_step: int | None) -> None:
        super().__init__(run_dir, name="", version="logs", flush_logs_every_n_steps=1)
        self.resume_step = resume_step

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None and self.resume_step is not None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(self.log_dir, self.resume_step)
        return super().experiment
