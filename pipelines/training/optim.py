"""The optimiser every training module uses: AdamW with decoupled weight decay (none on
norms, biases, A_log, D) and a linear warm-up then cosine learning-rate schedule."""
from __future__ import annotations

import math
from typing import Any, Iterable

import torch
import torch.nn as nn


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Learning-rate multiplier: linear 0 -> 1 over ``warmup_steps``, then cosine to
    ``min_ratio`` at ``total_steps`` (and ``min_ratio`` after)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def adamw_warmup_cosine(model: nn.Module, no_decay: Iterable[nn.Parameter], opt: dict[str, Any],
                        max_steps: int) -> dict[str, Any]:
    """Lightning's ``configure_optimizers`` answer for ``model``: AdamW over all its
    parameters, weight decay ``opt["weight_decay"]`` except on ``no_decay``, stepped every
    batch by ``warmup_cosine``. ``opt`` holds OptimConfig's fields."""
    skip = {id(p) for p in no_decay}
    params = list(model.parameters())
    groups = [{"params": [p for p in params if id(p) not in skip], "weight_decay": opt["weight_decay"]},
              {"params": [p for p in params if id(p) in skip], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=opt["lr"], betas=tuple(opt["betas"]))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, opt["warmup_steps"], max_steps, opt["min_lr_ratio"]))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
