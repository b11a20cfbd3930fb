"""Training progress as plain lines, for logs: when stdout is not a terminal (a log file, a
pipe, a batch scheduler), a progress bar shows nothing there, so the first process prints one
line every ``every`` optimizer steps instead."""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from ..data.variable_length import IGNORE_INDEX


def batch_tokens(batch: Any) -> int:
    """The tokens one process trains on in ``batch``: a (batch, length + 1) window tensor ->
    batch x length; a variable-length language-model dict -> its counted targets; a packed
    classification dict -> its ids; an (inputs, ...) tuple -> the inputs' elements."""
    if isinstance(batch, dict):
        if "targets" in batch:
            return int((batch["targets"] != IGNORE_INDEX).sum())
        return int(batch["ids"].numel())
    if isinstance(batch, torch.Tensor):
        return batch.shape[0] * (batch.shape[1] - 1)
    return int(batch[0].numel())


def _clock(seconds: float) -> str:
    """Seconds as H:MM:SS."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


class ProgressLines(Callback):
    """Every ``every`` steps: ``[mambaseq] step S/MAX  loss L  T tokens/s  elapsed H:MM:SS
    left H:MM:SS``, the rate (all processes) and the time left measured over the steps since
    the previous line; time left is capped by ``trainer.max_minutes`` when it ends sooner."""

    def __init__(self, every: int, max_minutes: float | None = None,
                 stream: TextIO | None = None) -> None:
        self.every, self.max_minutes = every, max_minutes
        self.stream = stream if stream is not None else sys.stdout
        self.started = self.last_time = 0.0
        self.last_step = self.tokens = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = self.last_time = time.monotonic()
        self.last_step, self.tokens = trainer.global_step, 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        self.tokens += batch_tokens(batch)
        step = trainer.global_step
        if step % self.every or step == self.last_step or not trainer.is_global_zero:
            return
        now = time.monotonic()
        seconds = max(now - self.last_time, 1e-9)
        per_step = seconds / (step - self.last_step)
        left = (trainer.max_steps - step) * per_step if trainer.max_steps > 0 else float("nan")
        if self.max_minutes is not None:
            left = min(left, max(self.max_minutes * 60 - (now - self.started), 0.0))
        loss = trainer.callback_metrics.get("train/loss")
        loss_text = f"  loss {float(loss):.4f}" if loss is not None else ""
        rate = self.tokens * trainer.world_size / seconds
        print(f"[mambaseq] step {step}/{trainer.max_steps}{loss_text}  {rate:,.0f} tokens/s  "
              f"elapsed {_clock(now - self.started)}  left {_clock(left)}",
              file=self.stream, flush=True)
        self.last_time, self.last_step, self.tokens = now, step, 0
