"""One step of the selective scan for recurrent decoding, in plain PyTorch."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def selective_state_update_ref(state: torch.Tensor, x: torch.Tensor, delta: torch.Tensor,
                               A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                               D: torch.Tensor | None = None, z: torch.Tensor | None = None,
                               delta_bias: torch.Tensor | None = None,
                               delta_softplus: bool = False) -> torch.Tensor:
    """Advance the scan state by one time step, in place, and return that step's output.

    state (batch, dim, state_size) float32, overwritten with h_t; x, delta, z (batch, dim);
    A (dim, state_size); B, C (batch, state_size) or (batch, groups, state_size);
    D, delta_bias (dim,). Returns y_t (batch, dim) in x's dtype. Same arithmetic as one
    column of ``selective_scan``.
    """
    dim = x.shape[1]
    compute = state.dtype
    dt = delta.to(compute)
    if delta_bias is not None:
        dt = dt + delta_bias.to(compute)
    if delta_softplus:
        dt = F.softplus(dt)
    if B.dim() == 3:
        B = B.repeat_interleave(dim // B.shape[1], dim=1)
        C = C.repeat_interleave(dim // C.shape[1], dim=1)
    else:
        B, C = B.unsqueeze(1), C.unsqueeze(1)
    xc = x.to(compute)
    new_state = torch.exp(dt.unsqueeze(-1) * A.to(compute)) * state \
        + (dt * xc).unsqueeze(-1) * B.to(compute)
    state.copy_(new_state)
    y = (new_state * C.to(compute)).sum(-1)
    if D is not None:
        y = y + D.to(compute) * xc
    if z is not None:
        y = y * F.silu(z.to(compute))
    return y.to(x.dtype)
