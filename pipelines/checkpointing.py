"""Activation checkpointing: keep only each residual block's inputs in the forward pass and
recompute the block in the backward pass (memory for activations O(n_layer) blocks' inputs
instead of every intermediate), through PyTorch's checkpoint wrapper."""
from __future__ import annotations

from functools import partial

import torch.nn as nn
from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
    CheckpointImpl, apply_activation_checkpointing, checkpoint_wrapper)

from core import ResidualBlock


def checkpoint_residual_blocks(model: nn.Module) -> int:
    """Wrap every ``ResidualBlock`` of ``model`` (any backbone: MambaLM, classifiers,
    SaShiMiLM) so that its forward runs under ``torch.utils.checkpoint`` with
    ``use_reentrant=False``; outputs and gradients are unchanged. The blocks' ``step`` and
    the state-dict keys are unchanged too, so checkpoints load with or without it. Returns
    the number of blocks wrapped."""
    blocks = sum(isinstance(m, ResidualBlock) for m in model.modules())
    apply_activation_checkpointing(
        model, checkpoint_wrapper_fn=partial(checkpoint_wrapper,
                                             checkpoint_impl=CheckpointImpl.NO_REENTRANT),
        check_fn=lambda m: isinstance(m, ResidualBlock))
    return blocks
