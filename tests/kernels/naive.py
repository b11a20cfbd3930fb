"""Obviously-right, slow versions of the ops: the yardsticks the tests measure references and
kernels against. Test-only code."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mambaseq.kernels.scan_reference import check_scan_shapes, expand_groups


def selective_scan_loop(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                        initial_state=None, return_final_state=False):
    """The selective-scan recurrence one time step at a time, straight from the paper."""
    check_scan_shapes(u, delta, A, B, C, D, z, delta_bias, initial_state)
    batch, dim, length = u.shape
    compute = torch.float64 if u.dtype == torch.float64 else torch.float32
    uc, dc, Ac = u.to(compute), delta.to(compute), A.to(compute)
    if delta_bias is not None:
        dc = dc + delta_bias.to(compute).unsqueeze(-1)
    if delta_softplus:
        dc = F.softplus(dc)
    Bc, Cc = expand_groups(B.to(compute), dim), expand_groups(C.to(compute), dim)
    h = (initial_state.to(compute) if initial_state is not None
         else u.new_zeros(batch, dim, A.shape[1], dtype=compute))
    ys = []
    for t in range(length):
        h = torch.exp(dc[..., t, None] * Ac) * h + (dc[..., t] * uc[..., t]).unsqueeze(-1) * Bc[..., t]
        ys.append((h * Cc[..., t]).sum(-1))
    y = torch.stack(ys, dim=-1) if ys else uc.new_zeros(batch, dim, 0)
    if D is not None:
        y = y + D.to(compute).unsqueeze(-1) * uc
    if z is not None:
        y = y * F.silu(z.to(compute))
    y = y.to(u.dtype)
    return (y, h) if return_final_state else y
