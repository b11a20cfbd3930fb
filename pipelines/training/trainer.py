"""What every training job shares: the Lightning Trainer built from a ``TrainerConfig``,
resuming from a checkpoint of the run folder (``run_folder.plan_run`` picks it), and saving
the trained model."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch.nn as nn
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from mambaseq.core import save_model

from ..config import ConfigFileError, TrainerConfig
from .interrupt import ReportInterrupt
from .nonfinite_guard import NonFiniteGuard
from .progress_lines import ProgressLines
from .quiet import StepProgressBar
from .resume import ResumableCSVLogger, RNGState, checkpoint_step


def make_trainer(tr: TrainerConfig, grad_clip: float, run_dir: Path, monitor: str | None,
                 mode: str = "min", data: L.LightningDataModule | None = None,
                 resume_from: Path | None = None) -> L.Trainer:
    """A Trainer that validates every ``val_every_n_steps`` steps and logs to CSV and
    TensorBoard under ``run_dir/logs``. With ``monitor`` (a logged metric), checkpoints go to
    ``run_dir/checkpoints``: last.ckpt every ``checkpoint_every_n_steps`` steps, whether or not
    a validation has run yet, and the best by ``monitor`` (``mode`` "min" or "max") checked as
    often; without it, no checkpoints.

    Runs on ``devices`` x ``num_nodes`` processes with Lightning's ``strategy``. When ``data``
    splits its training batches across processes itself (``shards_by_rank``), Lightning adds
    no distributed sampler. Checkpoints carry the training data position and the random
    number generators, so a resumed run continues exactly; with ``stop_on_nonfinite`` a NaN or
    Inf loss or gradient stops the run (``NonFiniteError``). With ``max_minutes`` training
    also ends after that much time (Lightning's Timer, whose clock is in the checkpoints, so
    the parts of a resumed run add up) and the job goes on as after ``max_steps``. When stdout
    is not a terminal, progress comes as a line every ``log_every_n_steps`` steps. When the run
    will resume from a checkpoint (``resume_from``) the CSV log keeps its rows up to it.
    Writes nothing yet."""
    callbacks: list = [RNGState()]
    if tr.stop_on_nonfinite:
        callbacks.append(NonFiniteGuard())
    if tr.progress_bar:
        callbacks.append(StepProgressBar())
    if not sys.stdout.isatty():           # a log file or a pipe: a bar would show nothing
        callbacks.append(ProgressLines(tr.log_every_n_steps, tr.max_minutes))
    if monitor is not None:
        every = tr.checkpoint_every_n_steps
        callbacks += [ReportInterrupt(run_dir / "checkpoints" / "last.ckpt"),
            ModelCheckpoint(dirpath=run_dir / "checkpoints", every_n_train_steps=every,
                            save_last=True, save_top_k=0),
            ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="step{step}",
                            auto_insert_metric_name=False, every_n_train_steps=every,
                            save_top_k=1, monitor=monitor, mode=mode)]
    loggers = [ResumableCSVLogger(run_dir, checkpoint_step(resume_from) if resume_from else None),
               TensorBoardLogger(run_dir, name="", version="logs")]
    try:
        return L.Trainer(
            max_steps=tr.max_steps,
            max_time=None if tr.max_minutes is None else timedelta(minutes=tr.max_minutes),
            val_check_interval=tr.val_every_n_steps,
            check_val_every_n_epoch=None, log_every_n_steps=tr.log_every_n_steps,
            accelerator=tr.accelerator, devices=tr.devices, num_nodes=tr.num_nodes,
            strategy=tr.strategy, precision=tr.precision,
            use_distributed_sampler=not getattr(data, "shards_by_rank", False),
            gradient_clip_val=grad_clip, callbacks=callbacks,
            enable_checkpointing=monitor is not None,
            logger=loggers, enable_progress_bar=tr.progress_bar, enable_model_summary=False,
            default_root_dir=run_dir)
    except (ValueError, MisconfigurationException) as err:     # accelerator/strategy/precision
        raise ConfigFileError(f"the trainer settings (accelerator={tr.accelerator}, devices="
                              f"{tr.devices}, strategy={tr.strategy}, precision={tr.precision}) "
                              f"are refused by Lightning: {err}") from err


def fit(trainer: L.Trainer, module: L.LightningModule, data: L.LightningDataModule,
        resume_from: Path | None) -> None:
    """``trainer.fit``, continuing from the checkpoint ``resume_from`` when given (loaded
    with ``weights_only=True``)."""
    if resume_from and rank_zero_only.rank == 0:
        print(f"[mambaseq] resuming from {resume_from}")
    trainer.fit(module, datamodule=data, ckpt_path=resume_from, weights_only=True)


def save_run_model(trainer: L.Trainer, model: nn.Module, run_dir: Path, extra: dict[str, Any],
                   filename: str = "model.pt") -> tuple[Path, int] | None:
    """The ending every training job shares: on the first process only, count the model's
    parameters and write it as a model file (``core.save_model``) to ``run_dir/filename``,
    ``extra`` plus ``parameters`` beside the weights. Returns (path, parameters) there and
    None on every other process, which must write and print nothing."""
    if not trainer.is_global_zero:
        return None
    n_params = sum(p.numel() for p in model.parameters())
    return save_model(model, run_dir / filename, {**extra, "parameters": n_params}), n_params
