"""RMSNorm and the fused residual-add + RMSNorm of a pre-norm block, in plain PyTorch."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """x in float32, or kept in float64: the precision of the residual stream and the norm."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def rms_norm_ref(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the last dimension, computed in float32 (in
    float64 for float64 x); returns x's dtype."""
    # F.rms_norm: the same formula as one op (fewer dispatches per decoded token)
    wide = at_least_float32(x)
    return F.rms_norm(wide, (x.shape[-1],), weight.to(wide.dtype), eps).to(x.dtype)


def add_rms_norm_ref(x: torch.Tensor, residual: torch.Tensor | None, weight: torch.Tensor,
                     eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """The pre-norm block's entry: residual <- residual + x (float32), then RMSNorm of it.

    x (..., d) any float dtype; residual (..., d) float32 (float64 in a float64 model) or None
    (first block). Returns (normed in x's dtype, new residual in float32, or float64): the
    residual stream never drops below float32.
    """
    new_residual = at_least_float32(x) if residual is None else residual + at_least_float32(x)
    return rms_norm_ref(new_residual, weight, eps).to(x.dtype), new_residual
