"""LightningModule for the synthetic tasks: a ``MambaLM`` whose loss and accuracy count only
the answer positions (targets != IGNORE)."""
from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from mambaseq.core import MambaConfig, MambaLM

from ..data.synthetic_tasks import IGNORE
from .optim import adamw_warmup_cosine


def answer_metrics(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """logits (batch, length, vocab), targets (batch, length) int64 with IGNORE elsewhere ->
    ``loss`` (mean cross-entropy in nats over answer positions), ``correct`` (answers
    predicted right by argmax), ``answers`` (answer positions), ``solved`` (samples with every
    answer right); counts as int64 scalars."""
    mask = targets != IGNORE
    loss = F.cross_entropy(logits[mask].float(), targets[mask])
    hit = (logits.argmax(-1) == targets) | ~mask
    return {"loss": loss, "correct": (hit & mask).sum(), "answers": mask.sum(),
            "solved": hit.all(dim=1).sum()}


class SyntheticModule(L.LightningModule):
    """Trains ``MambaLM(MambaConfig.from_dict(model))`` on (inputs, targets) batches. Logs
    train/loss, val/loss (nats per answer), val/accuracy (answers right) and
    val/sequence_accuracy (samples with all answers right). ``run_config`` is kept in every
    checkpoint's hyper-parameters."""

    def __init__(self, model: dict[str, Any], optim: dict[str, Any], max_steps: int,
                 run_config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = MambaLM(MambaConfig.from_dict(model))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        inputs, targets = batch
        loss = answer_metrics(self.model(inputs), targets)["loss"]
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        inputs, targets = batch
        m = answer_metrics(self.model(inputs), targets)
        n = inputs.shape[0]
        self.log("val/loss", m["loss"], prog_bar=True, sync_dist=True, batch_size=n)
        self.log("val/accuracy", m["correct"] / m["answers"], prog_bar=True, sync_dist=True,
                 batch_size=n)
        self.log("val/sequence_accuracy", m["solved"] / n, sync_dist=True, batch_size=n)

    def configure_optimizers(self):
        return adamw_warmup_cosine(self.model, self.model.backbone.no_weight_decay(),
                                   self.hparams.optim, self.hparams.max_steps)
