"""LightningModule that trains audiomamba's SC09 ``DigitClassifier`` (cross-entropy, AdamW
with warm-up + cosine decay), with light waveform augmentation on the train split."""
from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from mambaseq.audiomamba import DigitClassifier

from .optim import adamw_warmup_cosine

MAX_SHIFT = 1600              # augmentation: circular time shift of up to +-0.1 s
GAIN_RANGE = (0.5, 1.5)       # augmentation: random gain


def augment(waves: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """waves (batch, samples): each clip shifted in time by up to +-0.1 s and scaled by a
    random gain; same shape, clipped to [-1, 1]."""
    batch = waves.shape[0]
    shifts = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (batch,), generator=generator).tolist()
    gains = torch.empty(batch, 1).uniform_(*GAIN_RANGE, generator=generator).to(waves.device)
    shifted = torch.stack([torch.roll(w, s) for w, s in zip(waves, shifts)])
    return (shifted * gains).clamp(-1, 1)


class DigitClassifierModule(L.LightningModule):
    """Trains ``DigitClassifier()`` on (waves, digits) batches; logs train/loss, val/loss,
    val/accuracy and test/accuracy."""

    def __init__(self, optim: dict[str, Any], max_steps: int,
                 run_config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = DigitClassifier()

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        waves, digits = batch
        loss = F.cross_entropy(self.model(augment(waves)), digits)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> None:
        waves, digits = batch
        logits = self.model(waves)
        self.log(f"{split}/loss", F.cross_entropy(logits, digits), prog_bar=True)
        self.log(f"{split}/accuracy", (logits.argmax(-1) == digits).float().mean(), prog_bar=True)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def configure_optimizers(self):
        return adamw_warmup_cosine(self.model, [], self.hparams.optim, self.hparams.max_steps)
