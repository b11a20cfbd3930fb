"""One decoding step of the selective scan in Triton (inference only, no backward).

Same contract as ``kernels.step_reference.selective_state_update_ref``: state
(batch, dim, N) updated in place; x, delta, z (batch, dim); A (dim, N); B, C (batch, N) or
(batch, groups, N); D, delta_bias (dim,). Arithmetic is float32; y comes back in x's dtype.
Each program owns BLOCK_D channels of one batch row and the whole state axis.
"""
from __future__ import annotations

import os

import torch
import triton
import triton.language as tl


@triton.jit
def _state_update_kernel(state_ptr, x_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, dtb_ptr,
                         y_ptr, dim, nstate, dims_per_group,
                         ssb, ssd, ssn, sxb, sxd, stb, std, sad, san, sbb, sbg, sbn,
                         scb, scg, scn, szb, szd, syb, syd,
                         HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DTB: tl.constexpr,
                         SOFTPLUS: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    b = tl.program_id(0).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    d_ok = offs_d < dim
    mask = d_ok[:, None] & (offs_n[None, :] < nstate)
    d = offs_d[:, None]
    n = offs_n[None, :]
    group = d // dims_per_group

    x = tl.load(x_ptr + b * sxb + offs_d * sxd, mask=d_ok, other=0.0).to(tl.float32)
    dt = tl.load(dt_ptr + b * stb + offs_d * std, mask=d_ok, other=0.0).to(tl.float32)
    if HAS_DTB:
        dt += tl.load(dtb_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)
    if SOFTPLUS:
        dt = tl.where(dt > 20.0, dt, tl.log(1.0 + tl.exp(dt)))
    A = tl.load(A_ptr + d * sad + n * san, mask=mask, other=0.0).to(tl.float32)
    Bv = tl.load(B_ptr + b * sbb + group * sbg + n * sbn, mask=mask, other=0.0).to(tl.float32)
    Cv = tl.load(C_ptr + b * scb + group * scg + n * scn, mask=mask, other=0.0).to(tl.float32)
    state = state_ptr + b * ssb + d * ssd + n * ssn
    h = tl.load(state, mask=mask, other=0.0).to(tl.float32)
    h = tl.exp(dt[:, None] * A) * h + (dt * x)[:, None] * Bv
    tl.store(state, h.to(state_ptr.dtype.element_ty), mask=mask)

    y = tl.sum(h * Cv, axis=1)
    if HAS_D:
        y += tl.load(D_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32) * x
    if HAS_Z:
        z = tl.load(z_ptr + b * szb + offs_d * szd, mask=d_ok, other=0.0).to(tl.float32)
        y *= z * tl.sigmoid(z)
    tl.store(y_ptr + b * syb + offs_d * syd, y.to(y_ptr.dtype.element_ty), mask=d_ok)


def _grouped(t: torch.Tensor) -> tuple[int, int, int, int]:
    """(groups, batch stride, group stride, state stride) of B or C, (batch, N) or (batch, G, N)."""
    if t.dim() == 2:
        return 1, t.stride(0), 0, t.stride(1)
    return t.shape[1], t.stride(0), t.stride(1), t.stride(2)


def selective_state_update_triton(state: torch.Tensor, x: torch.Tensor, delta: torch.Tensor,
                                  A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                                  D: torch.Tensor | None = None, z: torch.Tensor | None = None,
                                  delta_bias: torch.Tensor | None = None,
                                  delta_softplus: bool = False) -> torch.Tensor:
    """Triton ``selective_state_update_ref``: state (batch, dim, N) overwritten with h_t;
    returns y_t (batch, dim) in x's dtype."""
    batch, dim = x.shape
    nstate = A.shape[1]
    groups, sbb, sbg, sbn = _grouped(B)
    c_groups, scb, scg, scn = _grouped(C)
    if (tuple(state.shape) != (batch, dim, nstate) or delta.shape != x.shape
            or (z is not None and z.shape != x.shape) or c_groups != groups
            or dim % groups or B.shape[-1] != nstate or C.shape[-1] != nstate):
        raise ValueError(f"shapes do not fit state (batch, dim, N) = {tuple(state.shape)}: "
                         f"x {tuple(x.shape)}, delta {tuple(delta.shape)}, A {tuple(A.shape)}, "
                         f"B {tuple(B.shape)}, C {tuple(C.shape)}")
    D = None if D is None else D.contiguous()
    delta_bias = None if delta_bias is None else delta_bias.contiguous()
    y = torch.empty_like(x)
    block_n = triton.next_power_of_2(nstate)
    block_d = 16 if os.environ.get("TRITON_INTERPRET") == "1" else max(1, 1024 // block_n)
    _state_update_kernel[(batch, triton.cdiv(dim, block_d))](
        state, x, delta, A, B, C, D, z, delta_bias, y, dim, nstate, dim // groups,
        *state.stride(), *x.stride(), *delta.stride(), *A.stride(), sbb, sbg, sbn, scb, scg, scn,
        *(z.stride() if z is not None else (0, 0)), *y.stride(),
        HAS_D=D is not None, HAS_Z=z is not None, HAS_DTB=delta_bias is not None,
        SOFTPLUS=delta_softplus, BLOCK_D=block_d, BLOCK_N=block_n, num_warps=4)
    return y
