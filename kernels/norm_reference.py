"""RMSNorm and the fused residual-add + RMSNorm of a pre-norm block, in plain PyTorch."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def rms_norm_ref(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the last dimension, computed in float32;
    returns x's dtype."""
    # F.rms_norm: the same formula as one op (fewer dispatches per decoded token)
    return F.rms_norm(x.float(), (x.shape[-1],), weight.float(), eps).to(x.dtype)


def add_rms_norm_ref(x: torch.Tensor, residual: torch.Tensor | None, weight: torch.Tensor,
                     eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """The pre-norm block's entry: residual <- residual + x (float32), then RMSNorm of it.

    x (..., d) any float dtype; residual (..., d) float32 or None (first block). Returns
    (normed in x's dtype, new residual in float32): the residual stream never leaves float32.
    """
    new_residual = x.float() if residual is None else residual + x.float()
    return rms_norm_ref(new_residual, weight, eps).to(x.dtype), new_residual
