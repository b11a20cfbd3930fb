"""LightningModule for sequence classification with any classifier model class of core
(``MambaClassifier``, ``BidirectionalClassifier``), on any token domain."""
from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from mambaseq.biomamba.classification_metrics import classification_metrics
from mambaseq.core import MambaConfig
from mambaseq.core.checkpoint import MODEL_CLASSES

from .activation_checkpointing import checkpoint_residual_blocks, set_mixer_recompute
from .optim import adamw_warmup_cosine


class SequenceClassifierModule(L.LightningModule):
    """Trains ``MODEL_CLASSES[model_class](MambaConfig(**model), **model_kwargs)`` on batches
    (ids (batch, length) int64 right-padded, lengths (batch,), labels (batch,)), or packed
    ``classification_batch`` dicts.

    Logs train/loss, train/accuracy, train/seq_len (padded batches), val/loss and, over each whole validation pass,
    val/accuracy and val/f1_macro (scikit-learn); ``confusion`` then holds that pass's
    confusion matrix (rows true, columns predicted). Every process validates on the whole
    validation set, so these are exact in each; train/loss is averaged over the processes.
    ``classes`` names the class indices; ``run_config`` (the job's resolved config) is stored
    in every checkpoint. ``activation_checkpointing``: recompute every residual block's mixer in
    the backward pass; ``recompute_mixer_core``: False keeps every mixer intermediate instead
    of recomputing the conv and scan in backward.
    """

    def __init__(self, model_class: str, model: dict[str, Any], model_kwargs: dict[str, Any],
                 optim: dict[str, Any], max_steps: int, classes: list[str],
                 run_config: dict[str, Any] | None = None,
                 activation_checkpointing: bool = False,
                 recompute_mixer_core: bool = True) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = MODEL_CLASSES[model_class](MambaConfig.from_dict(model), **model_kwargs)
        set_mixer_recompute(self.model, recompute_mixer_core)
        if activation_checkpointing:
            checkpoint_residual_blocks(self.model)
        self.confusion: np.ndarray | None = None
        self._val_preds: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.model(ids, lengths)

    def _logits(self, batch: tuple[torch.Tensor, ...] | dict[str, torch.Tensor]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(float32 logits (n, classes), labels (n,)) of a padded (ids, lengths, labels) batch
        or a packed ``classification_batch`` dict (``pipelines.data.variable_length``)."""
        if isinstance(batch, dict):
            return (self.model(batch["ids"], cu_seqlens=batch["cu_seqlens"]).float(),
                    batch["labels"])
        ids, lengths, labels = batch
        return self.model(ids, lengths).float(), labels

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        logits, labels = self._logits(batch)
        loss = F.cross_entropy(logits, labels)
        self.log("train/loss", loss, prog_bar=True, sync_dist=True)
        self.log("train/accuracy", (logits.argmax(-1) == labels).float().mean())
        if not isinstance(batch, dict):   # fixed lengths: the window (a warm-up stage's)
            self.log("train/seq_len", float(batch[0].shape[1]))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        logits, labels = self._logits(batch)
        self.log("val/loss", F.cross_entropy(logits, labels), prog_bar=True, sync_dist=True)
        self._val_preds.append(logits.argmax(-1))
        self._val_targets.append(labels)

    def on_validation_epoch_end(self) -> None:
        preds = torch.cat(self._val_preds).cpu().numpy()
        targets = torch.cat(self._val_targets).cpu().numpy()
        self._val_preds.clear()
        self._val_targets.clear()
        metrics, self.confusion = classification_metrics(targets, preds, len(self.hparams.classes))
        self.log("val/accuracy", metrics["accuracy"], prog_bar=True)
        self.log("val/f1_macro", metrics["f1_macro"])

    def configure_optimizers(self):
        no_decay = self.model.backbone.no_weight_decay() + [self.model.head.bias]
        return adamw_warmup_cosine(self.model, no_decay, self.hparams.optim, self.hparams.max_steps)
