"""One step of the selective scan for recurrent decoding, in plain PyTorch."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def as_dtype(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``t.to(dtype)`` without the dispatch when t has it already (a decoding step pays
    about 2 us per no-op ``to``)."""
    return t if t.dtype == dtype else t.to(dtype)


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
    dt = as_dtype(delta, compute)
    if delta_bias is not None:
        dt = dt + as_dtype(delta_bias, compute)
    if delta_softplus:
        dt = F.softplus(dt)
    if B.dim() == 3:
        B = B.repeat_interleave(dim // B.shape[1], dim=1)
        C = C.repeat_interleave(dim // C.shape[1], dim=1)
    else:
        B, C = B.unsqueeze(1), C.unsqueeze(1)
    xc = as_dtype(x, compute)
    # h = exp(dt A) * h + (dt x) B in place, y = C . h: few ops, since decoding pays per op
    state.mul_(torch.exp(dt.unsqueeze(-1) * as_dtype(A, compute)))
    state.addcmul_((dt * xc).unsqueeze(-1), as_dtype(B, compute))
    y = torch.linalg.vecdot(state, as_dtype(C, compute))
    if D is not None:
        y = torch.addcmul(y, as_dtype(D, compute), xc)
    if z is not None:
        y = y * F.silu(as_dtype(z, compute))
    return as_dtype(y, x.dtype)
