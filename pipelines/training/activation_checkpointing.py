"""What the Mamba mixers keep for the backward pass. Activation checkpointing: keep only the
input of each residual block's mixer in the forward pass and recompute the mixer
(projections, convolution, selective scan) in the backward pass, through PyTorch's checkpoint
wrapper (``torch.utils.checkpoint``, ``use_reentrant=False``). Inside the mixer, whether its
core (conv, Δ, B, C, scan states) is recomputed or kept (``set_mixer_recompute``)."""
from __future__ import annotations

from functools import partial

import torch.nn as nn
from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
    CheckpointImpl, apply_activation_checkpointing, checkpoint_wrapper)

from mambaseq.core import MambaMixer


def checkpoint_residual_blocks(model: nn.Module) -> int:
    """Wrap the mixer of every residual block of ``model`` (any backbone: MambaLM, the causal
    and bidirectional classifiers, SaShiMiLM) so that it is recomputed in the backward pass;
    outputs and gradients are unchanged. The mixers' ``step`` and the state-dict keys are
    unchanged too, so checkpoints load with or without it. Returns the number of mixers
    wrapped."""
    mixers = sum(isinstance(m, MambaMixer) for m in model.modules())
    apply_activation_checkpointing(
        model, checkpoint_wrapper_fn=partial(checkpoint_wrapper,
                                             checkpoint_impl=CheckpointImpl.NO_REENTRANT),
        check_fn=lambda m: isinstance(m, MambaMixer))
    return mixers


def set_mixer_recompute(model: nn.Module, recompute: bool) -> int:
    """Set ``recompute_core`` of every Mamba mixer of ``model``: True (the default) keeps only
    in_proj's output for the backward pass and recomputes the rest there (``core.recompute``),
    False keeps every intermediate (about 4x the mixer's activation memory, one scan forward
    less per step). Outputs and gradients are the same. Returns the number of mixers."""
    mixers = [m for m in model.modules() if isinstance(m, MambaMixer)]
    for mixer in mixers:
        mixer.recompute_core = recompute
    return len(mixers)
