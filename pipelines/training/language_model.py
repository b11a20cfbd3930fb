"""LightningModule for causal language modelling (any token domain) with either backbone:
the flat ``MambaLM`` or audiomamba's multi-scale ``SaShiMiLM``."""
from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
import torch.nn as nn
import torch.nn.functional as F

from mambaseq.audiomamba import SaShiMiLM
from mambaseq.core import ConfigError, MambaConfig, MambaLM

from ..data.variable_length import IGNORE_INDEX
from .activation_checkpointing import checkpoint_residual_blocks, set_mixer_recompute
from .optim import adamw_warmup_cosine


def build_lm(model: dict[str, Any], backbone: dict[str, Any] | None = None) -> nn.Module:
    """The language model a config describes: ``model`` is a ``MambaConfig`` dict;
    ``backbone`` None or {"kind": "mamba"} gives a ``MambaLM``, {"kind": "sashimi", "pool":
    [...], "expand": n} a ``SaShiMiLM``."""
    config = MambaConfig.from_dict(model)
    backbone = backbone or {"kind": "mamba"}
    if backbone["kind"] == "mamba":
        return MambaLM(config)
    if backbone["kind"] == "sashimi":
        return SaShiMiLM(config, pool=list(backbone["pool"]), expand=backbone["expand"])
    raise ConfigError(f"backbone.kind must be 'mamba' or 'sashimi', got {backbone['kind']!r}")


def no_weight_decay(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of a language model that AdamW must not decay."""
    return model.backbone.no_weight_decay() if isinstance(model, MambaLM) else model.no_weight_decay()


class LMModule(L.LightningModule):
    """Trains ``build_lm(model, backbone)`` on batches of token ids (batch, length + 1):
    inputs are ids[:, :-1], targets ids[:, 1:]; or on ``lm_batch`` dicts of sequences of
    different lengths (packed with cu_seqlens, or padded with ignored targets). Logs
    train/loss and val/loss in nats per token, val/bits_per_token and train/seq_len (it grows
    during sequence-length warm-up; train/tokens, the predicted tokens, for variable lengths); train/loss is averaged over all processes: the loss of
    the step's global batch. ``run_config`` (the job's resolved config, plain Python) is
    stored in every checkpoint's hyper-parameters. ``activation_checkpointing``: recompute
    every residual block's mixer in the backward pass; ``recompute_mixer_core``: False keeps
    every mixer intermediate instead of recomputing the conv and scan in backward."""

    def __init__(self, model: dict[str, Any], optim: dict[str, Any], max_steps: int,
                 run_config: dict[str, Any] | None = None,
                 backbone: dict[str, Any] | None = None,
                 activation_checkpointing: bool = False,
                 recompute_mixer_core: bool = True) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.model = build_lm(model, backbone)
        set_mixer_recompute(self.model, recompute_mixer_core)
        if activation_checkpointing:
            checkpoint_residual_blocks(self.model)

    def _loss(self, batch: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean next-token cross entropy (nats) of a (batch, length + 1) tensor of ids, or of
        an ``lm_batch`` dict (``pipelines.data.variable_length``: packed or padded sequences)."""
        if isinstance(batch, dict):
            packed = {"cu_seqlens": batch["cu_seqlens"]} if "cu_seqlens" in batch else {}
            logits = self.model(batch["inputs"], **packed)
            targets = batch["targets"]
        else:
            logits, targets = self.model(batch[:, :-1]), batch[:, 1:]
        return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(),
                               ignore_index=IGNORE_INDEX)

    def training_step(self, batch: torch.Tensor | dict[str, torch.Tensor], batch_idx: int
                      ) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, sync_dist=True)
        if isinstance(batch, dict):       # variable lengths: the tokens the loss counts
            self.log("train/tokens", float((batch["targets"] != IGNORE_INDEX).sum()))
        else:
            self.log("train/seq_len", float(batch.shape[1] - 1))
        return loss

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        loss = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, sync_dist=True)
        self.log("val/bits_per_token", loss / math.log(2), sync_dist=True)

    def configure_optimizers(self):
        return adamw_warmup_cosine(self.model, no_weight_decay(self.model), self.hparams.optim,
                                   self.hparams.max_steps)
