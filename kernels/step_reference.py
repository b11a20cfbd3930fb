"""One step of recurrent decoding in plain PyTorch: the selective scan's state update and the
linear layers' products for a few rows."""
from __future__ import annotations

import torch
import torch.nn.functional as F


# The weight-streaming kernel (``kernels.triton_linear``) against cuBLAS on an H100
# (benchmarks/decode_linear.py; results/h100-2026-12-06, session 4): same-dtype products of
# at most STREAMING_MAX_ROWS rows and at least STREAMING_MIN_COLS output columns are faster
# (the 1.4B LM's in_proj and out_proj: 1.02-1.12x); with fewer columns it has too few
# programs to fill the GPU (x_proj's 160: 0.75x), and at 128 rows cuBLAS's split-K kernels
# win (0.5-0.98x). ``kernels.ops.decode_linear`` sends it those shapes.
STREAMING_MAX_ROWS = 64
STREAMING_MIN_COLS = 2048
# Narrower products at least this deep (x_proj: 160 columns of 4,096 at 1.4B, 80 of 1,536 at
# 130M) go to the split-depth kernel (``triton_linear.decode_linear_split_triton``) instead of
# cuBLAS's split-K GEMM and its reduction. H100 (benchmarks/decode_linear.py, results of
# 2026-12-06, session 6): 1.4B x_proj 4.5 us against cuBLAS's 6.7-7.0 at 1 and 64 rows, 130M
# x_proj 3.1-3.3 against 4.1-4.3; the wide out_proj and in_proj lose split (0.7x of the
# streaming kernel), hence narrow products only.
SPLIT_MIN_DEPTH = 1024


def as_dtype(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``t.to(dtype)`` without the dispatch when t has it already (a decoding step pays
    about 2 us per no-op ``to``)."""
    return t if t.dtype == dtype else t.to(dtype)


def selective_state_update_ref(state: torch.Tensor, x: torch.Tensor, delta: torch.Tensor,
                               A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                               D: torch.Tensor | None = None, z: torch.Tensor | None = None,
                               delta_bias: torch.Tensor | None = None,
                               delta_softplus: bool = False,
                               dt_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Advance the scan state by one time step, in place, and return that step's output.

    state (batch, dim, state_size), overwritten with h_t: float32 (float64 for checks), or a
    16-bit copy (bfloat16 halves a decoding step's state traffic; h_t is computed in float32
    from it and rounded once when stored). x, delta, z (batch, dim); A (dim, state_size);
    B, C (batch, state_size) or (batch, groups, state_size); D, delta_bias (dim,). With
    ``dt_weight`` (dim, R), ``delta`` is Δ's low-rank code (batch, R) and
    Δ = code @ dt_weight^T, computed in the arithmetic's dtype. Returns y_t (batch, dim) in
    x's dtype. Same arithmetic as one column of ``selective_scan``.
    """
    dim = x.shape[1]
    compute = torch.promote_types(state.dtype, torch.float32)
    if dt_weight is not None:
        delta = decode_linear_ref(delta, dt_weight, out_dtype=compute)
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
    h = as_dtype(state, compute)
    h.mul_(torch.exp(dt.unsqueeze(-1) * as_dtype(A, compute)))
    h.addcmul_((dt * xc).unsqueeze(-1), as_dtype(B, compute))
    if h is not state:
        state.copy_(h)
    y = torch.linalg.vecdot(h, as_dtype(C, compute))
    if D is not None:
        y = torch.addcmul(y, as_dtype(D, compute), xc)
    if z is not None:
        y = y * F.silu(as_dtype(z, compute))
    return as_dtype(y, x.dtype)


def decode_linear_ref(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                      out_dtype: torch.dtype | None = None) -> torch.Tensor:
    """x (rows, K) @ weight (N, K)^T + bias (N,) -> (rows, N) in ``out_dtype`` (x's dtype
    when None), summed in float32 (as ``F.linear``). With another ``out_dtype``, x, weight
    and bias are cast to it first (autocast off): a float32 product of 16-bit values is
    exact, so only the summation order can differ from a kernel's float32 sums."""
    if out_dtype is None or out_dtype == x.dtype:
        return F.linear(x, weight, bias)
    with torch.autocast(device_type=x.device.type, enabled=False):    # it would narrow them
        return F.linear(as_dtype(x, out_dtype), as_dtype(weight, out_dtype),
                        None if bias is None else as_dtype(bias, out_dtype))
