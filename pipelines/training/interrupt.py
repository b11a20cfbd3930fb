"""Ctrl-C during training: Lightning catches the KeyboardInterrupt, tells the callbacks and
exits; this callback says which step the run folder holds and how to continue from it."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback

from .resume import checkpoint_step


class ReportInterrupt(Callback):
    """On a KeyboardInterrupt, print the step of the checkpoint ``path`` (the run folder's
    last.ckpt, which the next launch of the same command resumes from exactly) and the
    command that resumes (this process's own arguments). A checkpoint written mid-step at
    the interrupt would not resume exactly, so none is written."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule,
                     exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt) or not trainer.is_global_zero:
            return
        command = shlex.join(["mambaseq", *sys.argv[1:]])
        if not self.path.is_file():
            print(f"[mambaseq] interrupted at step {trainer.global_step}, before the first "
                  f"checkpoint; nothing to resume from", file=sys.stderr)
            return
        print(f"[mambaseq] interrupted at step {trainer.global_step}; {self.path} holds step "
              f"{checkpoint_step(self.path)}; resume with: {command}", file=sys.stderr)
