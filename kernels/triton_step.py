"""One decoding step of the selective scan in Triton (inference only, no backward).

Same contract as ``kernels.step_reference.selective_state_update_ref``: state
(batch, dim, N) updated in place, float32 or bfloat16 (loaded into float32, rounded once when
stored); x, delta, z (batch, dim); A (dim, N); B, C (batch, N) or (batch, groups, N); D,
delta_bias (dim,). Arithmetic is float32; y comes back in x's dtype.
Given Δ, each program owns BLOCK_D channels of one batch row and the whole state axis. Given
Δ's low-rank code and projection (``dt_weight``) for at most ``FUSED_MAX_ROWS`` rows, each
program owns BLOCK_D channels of BLOCK_M rows: it multiplies their codes by its BLOCK_D rows
of the projection on tensor cores (``triton_linear.tile_product``), so Δ never goes through memory
and the projection is read once per BLOCK_M rows, not once per row; for more rows Δ is
written by ``triton_linear``'s product first (faster there).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .backend import triton_interpreted
from .triton_linear import decode_linear_triton, dot_precision, tile_product
from .triton_pdl import pdl_options, wait_for_previous_kernel

# Up to this many rows Δ's product runs inside the state kernel; above, the weight-streaming
# product (kernels.triton_linear) writes Δ and the one-row kernel reads it. Per layer of the
# 1.4B LM on an H100 (session 4): fused 5.1 / 7.1 / 18.0 / 34.1 us at 1 / 16 / 64 / 128 rows,
# product then state 5.2 / 7.9 / 17.1 / 32.5 us.
FUSED_MAX_ROWS = 32


@triton.jit
def _softplus(dt):
    """log(1 + e^dt), and dt itself above 20 (where they agree in float32)."""
    return tl.where(dt > 20.0, dt, tl.log(1.0 + tl.exp(dt)))


@triton.jit
def _state_update_kernel(state_ptr, x_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, dtb_ptr,
                         y_ptr, dim, nstate, dims_per_group,
                         ssb, ssd, ssn, sxb, sxd, stb, std, sad, san, sbb, sbg, sbn,
                         scb, scg, scn, szb, szd, syb, syd,
                         HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DTB: tl.constexpr,
                         SOFTPLUS: tl.constexpr, PDL: tl.constexpr, BLOCK_D: tl.constexpr,
                         BLOCK_N: tl.constexpr):
    wait_for_previous_kernel(PDL)
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
        dt = _softplus(dt)
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


@triton.jit
def _state_update_code_kernel(state_ptr, x_ptr, code_ptr, w_ptr, A_ptr, B_ptr, C_ptr, D_ptr,
                              z_ptr, dtb_ptr, y_ptr, batch, dim, nstate, rank, dims_per_group,
                              ssb, ssd, ssn, sxb, sxd, sqb, sqr, swd, sad, san, sbb, sbg, sbn,
                              scb, scg, scn, szb, szd, syb, syd,
                              HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DTB: tl.constexpr,
                              SOFTPLUS: tl.constexpr, PRECISION: tl.constexpr,
                              PDL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr,
                              BLOCK_N: tl.constexpr, BLOCK_R: tl.constexpr):
    """Tiles: rows m (BLOCK_M) x channels d (BLOCK_D) x states n (BLOCK_N)."""
    wait_for_previous_kernel(PDL)
    offs_m = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.program_id(0) * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    m_ok, d_ok, n_ok = offs_m < batch, offs_d < dim, offs_n < nstate
    md_ok = m_ok[:, None] & d_ok[None, :]

    dt = tile_product(code_ptr, w_ptr, offs_m, offs_d, m_ok, d_ok, rank, sqb, sqr, swd,
                      BLOCK_M, BLOCK_D, BLOCK_R, PRECISION).to(tl.float32)
    if HAS_DTB:
        dt += tl.load(dtb_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)[None, :]
    if SOFTPLUS:
        dt = _softplus(dt)

    m = offs_m[:, None, None]
    d = offs_d[None, :, None]
    n = offs_n[None, None, :]
    mask = md_ok[:, :, None] & n_ok[None, None, :]
    group = d // dims_per_group
    x = tl.load(x_ptr + offs_m[:, None] * sxb + offs_d[None, :] * sxd, mask=md_ok,
                other=0.0).to(tl.float32)
    A = tl.load(A_ptr + d * sad + n * san, mask=d_ok[None, :, None] & n_ok[None, None, :],
                other=0.0).to(tl.float32)
    Bv = tl.load(B_ptr + m * sbb + group * sbg + n * sbn, mask=mask, other=0.0).to(tl.float32)
    Cv = tl.load(C_ptr + m * scb + group * scg + n * scn, mask=mask, other=0.0).to(tl.float32)
    state = state_ptr + m * ssb + d * ssd + n * ssn
    h = tl.load(state, mask=mask, other=0.0).to(tl.float32)
    h = tl.exp(dt[:, :, None] * A) * h + (dt * x)[:, :, None] * Bv
    tl.store(state, h.to(state_ptr.dtype.element_ty), mask=mask)

    y = tl.sum(h * Cv, axis=2)
    if HAS_D:
        y += tl.load(D_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)[None, :] * x
    if HAS_Z:
        z = tl.load(z_ptr + offs_m[:, None] * szb + offs_d[None, :] * szd, mask=md_ok,
                    other=0.0).to(tl.float32)
        y *= z * tl.sigmoid(z)
    tl.store(y_ptr + offs_m[:, None] * syb + offs_d[None, :] * syd,
             y.to(y_ptr.dtype.element_ty), mask=md_ok)


def _grouped(t: torch.Tensor) -> tuple[int, int, int, int]:
    """(groups, batch stride, group stride, state stride) of B or C, (batch, N) or (batch, G, N)."""
    if t.dim() == 2:
        return 1, t.stride(0), 0, t.stride(1)
    return t.shape[1], t.stride(0), t.stride(1), t.stride(2)


def selective_state_update_triton(state: torch.Tensor, x: torch.Tensor, delta: torch.Tensor,
                                  A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                                  D: torch.Tensor | None = None, z: torch.Tensor | None = None,
                                  delta_bias: torch.Tensor | None = None,
                                  delta_softplus: bool = False,
                                  dt_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Triton ``selective_state_update_ref``: state (batch, dim, N) overwritten with h_t;
    returns y_t (batch, dim) in x's dtype. With ``dt_weight`` (dim, R), ``delta`` is Δ's
    low-rank code (batch, R), multiplied in the kernel."""
    batch, dim = x.shape
    nstate = A.shape[1]
    groups, sbb, sbg, sbn = _grouped(B)
    c_groups, scb, scg, scn = _grouped(C)
    delta_fits = (delta.shape == x.shape if dt_weight is None else
                  delta.dim() == 2 and delta.shape[0] == batch
                  and tuple(dt_weight.shape) == (dim, delta.shape[1]))
    if (tuple(state.shape) != (batch, dim, nstate) or not delta_fits
            or (z is not None and z.shape != x.shape) or c_groups != groups
            or dim % groups or B.shape[-1] != nstate or C.shape[-1] != nstate):
        raise ValueError(f"shapes do not fit state (batch, dim, N) = {tuple(state.shape)}: "
                         f"x {tuple(x.shape)}, delta {tuple(delta.shape)}, A {tuple(A.shape)}, "
                         f"B {tuple(B.shape)}, C {tuple(C.shape)}"
                         + ("" if dt_weight is None else f", dt_weight {tuple(dt_weight.shape)}"))
    D = None if D is None else D.contiguous()
    delta_bias = None if delta_bias is None else delta_bias.contiguous()
    y = torch.empty_like(x)
    block_n = triton.next_power_of_2(nstate)
    interpreted = triton_interpreted()
    flags = dict(HAS_D=D is not None, HAS_Z=z is not None, HAS_DTB=delta_bias is not None,
                 SOFTPLUS=delta_softplus, BLOCK_N=block_n, **pdl_options(x))
    z_strides = z.stride() if z is not None else (0, 0)
    if dt_weight is not None and batch > FUSED_MAX_ROWS and delta.dtype == dt_weight.dtype:
        delta, dt_weight = decode_linear_triton(delta, dt_weight, out_dtype=torch.float32), None
    if dt_weight is not None:
        dt_weight = dt_weight if dt_weight.stride(1) == 1 else dt_weight.contiguous()
        rank = delta.shape[1]
        block_d = 16 if interpreted else max(16, 256 // block_n)
        _state_update_code_kernel[(triton.cdiv(dim, block_d), triton.cdiv(batch, 16))](
            state, x, delta, dt_weight, A, B, C, D, z, delta_bias, y, batch, dim, nstate, rank,
            dim // groups, *state.stride(), *x.stride(), *delta.stride(), dt_weight.stride(0),
            *A.stride(), sbb, sbg, sbn, scb, scg, scn, *z_strides, *y.stride(),
            PRECISION=dot_precision(delta, dt_weight), BLOCK_M=16, BLOCK_D=block_d,
            BLOCK_R=max(16, min(64, triton.next_power_of_2(rank))), num_warps=8, **flags)
        return y
    block_d = 16 if interpreted else max(1, 1024 // block_n)
    _state_update_kernel[(batch, triton.cdiv(dim, block_d))](
        state, x, delta, A, B, C, D, z, delta_bias, y, dim, nstate, dim // groups,
        *state.stride(), *x.stride(), *delta.stride(), *A.stride(), sbb, sbg, sbn, scb, scg, scn,
        *z_strides, *y.stride(), BLOCK_D=block_d, num_warps=4, **flags)
    return y
