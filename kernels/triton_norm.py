"""RMSNorm and fused residual-add + RMSNorm in Triton, forward and backward.

Same contract as ``kernels.norm_reference``: x (..., d) any float dtype, residual (..., d)
float32 or None, weight (d,). Arithmetic is float32; the normed output comes back in x's
dtype, the new residual in float32. The forward keeps one float32 reciprocal RMS per row
for the backward. One forward program normalises one row (d up to 65536); a backward
program walks ROWS rows and leaves a partial weight gradient, summed afterwards.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .backend import multiprocessor_count, triton_interpreted
from .triton_pdl import pdl_options, wait_for_previous_kernel

_MAX_BLOCK = 65536


def _backward_programs(device: torch.device) -> int:
    """How many backward programs share the rows: 16 per SM on a GPU, 4 in the interpreter."""
    if triton_interpreted():
        return 4
    return 16 * multiprocessor_count(device)


def _num_warps(block: int) -> int:
    return 1 if triton_interpreted() else min(16, max(1, block // 256))


@triton.jit
def _rms_fwd_kernel(x_ptr, res_ptr, res_out_ptr, y_ptr, w_ptr, rstd_ptr, n_cols, eps,
                    sx, sr, sro, sy,
                    HAS_RES: tl.constexpr, STORE_RES: tl.constexpr, PDL: tl.constexpr,
                    BLOCK_N: tl.constexpr):
    wait_for_previous_kernel(PDL)
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK_N)
    mask = cols < n_cols
    v = tl.load(x_ptr + row * sx + cols, mask=mask, other=0.0).to(tl.float32)
    if HAS_RES:
        v += tl.load(res_ptr + row * sr + cols, mask=mask, other=0.0).to(tl.float32)
    if STORE_RES:
        tl.store(res_out_ptr + row * sro + cols, v, mask=mask)
    rstd = tl.rsqrt(tl.sum(v * v, axis=0) / n_cols + eps)
    tl.store(rstd_ptr + row, rstd)
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(y_ptr + row * sy + cols, (v * rstd * w).to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _rms_bwd_kernel(r_ptr, w_ptr, rstd_ptr, dy_ptr, dres_ptr, dx_ptr, dres_in_ptr, dw_part_ptr,
                    n_rows, n_cols, sr, sdy, sdres, sdx, sdri,
                    HAS_DRES: tl.constexpr, STORE_DRES_IN: tl.constexpr, ROWS: tl.constexpr,
                    BLOCK_N: tl.constexpr):
    """r is the normalised input (x, or the new residual); dres the gradient reaching the new
    residual directly; dx and dres_in receive the same float32 gradient in their dtypes."""
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    col_ok = cols < n_cols
    w = tl.load(w_ptr + cols, mask=col_ok, other=0.0).to(tl.float32)
    dw = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for i in range(ROWS):
        row = pid.to(tl.int64) * ROWS + i
        mask = col_ok & (row < n_rows)
        r = tl.load(r_ptr + row * sr + cols, mask=mask, other=0.0).to(tl.float32)
        rstd = tl.load(rstd_ptr + row, mask=row < n_rows, other=0.0)
        dy = tl.load(dy_ptr + row * sdy + cols, mask=mask, other=0.0).to(tl.float32)
        r_hat = r * rstd
        w_dy = w * dy
        dr = (w_dy - r_hat * (tl.sum(w_dy * r_hat, axis=0) / n_cols)) * rstd
        if HAS_DRES:
            dr += tl.load(dres_ptr + row * sdres + cols, mask=mask, other=0.0).to(tl.float32)
        tl.store(dx_ptr + row * sdx + cols, dr.to(dx_ptr.dtype.element_ty), mask=mask)
        if STORE_DRES_IN:
            tl.store(dres_in_ptr + row * sdri + cols, dr.to(dres_in_ptr.dtype.element_ty),
                     mask=mask)
        dw += dy * r_hat
    tl.store(dw_part_ptr + pid * n_cols + cols, dw, mask=col_ok)


def _rows(t: torch.Tensor) -> torch.Tensor:
    """(..., d) -> (rows, d) with unit stride along d (a view where possible)."""
    t = t.reshape(-1, t.shape[-1])
    return t if t.stride(-1) == 1 else t.contiguous()


def _block(n_cols: int) -> int:
    block = triton.next_power_of_2(n_cols)
    if block > _MAX_BLOCK:
        raise ValueError(f"rms_norm over {n_cols} features: at most {_MAX_BLOCK} supported")
    return block


def _forward(x: torch.Tensor, residual: torch.Tensor | None, weight: torch.Tensor, eps: float,
             store_residual: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """x, residual (rows, d) -> (normed (rows, d) in x's dtype, new residual float32 or None,
    rstd (rows,) float32)."""
    n_rows, n_cols = x.shape
    block = _block(n_cols)
    y = torch.empty_like(x)
    res_out = torch.empty(x.shape, dtype=torch.float32, device=x.device) if store_residual else None
    rstd = torch.empty(n_rows, dtype=torch.float32, device=x.device)
    _rms_fwd_kernel[(n_rows,)](
        x, residual, res_out, y, weight, rstd, n_cols, eps, x.stride(0),
        0 if residual is None else residual.stride(0), 0 if res_out is None else res_out.stride(0),
        y.stride(0), HAS_RES=residual is not None, STORE_RES=store_residual,
        BLOCK_N=block, num_warps=_num_warps(block), **pdl_options(x))
    return y, res_out, rstd


def _backward(r: torch.Tensor, weight: torch.Tensor, rstd: torch.Tensor, dy: torch.Tensor,
              dres: torch.Tensor | None, x_dtype: torch.dtype, residual_grad: bool):
    """Gradients (dx in x_dtype, d_residual float32 or None, d_weight in weight's dtype) from
    r (rows, d), the tensor that was normalised."""
    n_rows, n_cols = r.shape
    block = _block(n_cols)
    rows = triton.next_power_of_2(triton.cdiv(n_rows, _backward_programs(r.device)))
    programs = triton.cdiv(n_rows, rows)
    dy = _rows(dy)
    dres = None if dres is None else _rows(dres)
    dx = torch.empty(r.shape, dtype=x_dtype, device=r.device)
    dres_in = torch.empty(r.shape, dtype=torch.float32, device=r.device) if residual_grad else None
    dw_part = torch.empty(programs, n_cols, dtype=torch.float32, device=r.device)
    _rms_bwd_kernel[(programs,)](
        r, weight, rstd, dy, dres, dx, dres_in, dw_part, n_rows, n_cols, r.stride(0),
        dy.stride(0), 0 if dres is None else dres.stride(0), dx.stride(0),
        0 if dres_in is None else dres_in.stride(0), HAS_DRES=dres is not None,
        STORE_DRES_IN=residual_grad, ROWS=rows, BLOCK_N=block, num_warps=_num_warps(block))
    return dx, dres_in, dw_part.sum(0).to(weight.dtype)


class _RMSNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, eps: float):
        x2 = _rows(x)
        y, _, rstd = _forward(x2, None, weight, eps, store_residual=False)
        ctx.save_for_backward(x2, weight, rstd)
        return y.view(x.shape)

    @staticmethod
    def backward(ctx, dy):
        x2, weight, rstd = ctx.saved_tensors
        dx, _, dw = _backward(x2, weight, rstd, dy, None, x2.dtype, residual_grad=False)
        return dx.view(dy.shape), dw, None


class _AddRMSNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, residual, weight, eps: float):
        y, res_out, rstd = _forward(_rows(x), None if residual is None else _rows(residual),
                                    weight, eps, store_residual=True)
        ctx.save_for_backward(res_out, weight, rstd)
        ctx.x_dtype = x.dtype
        ctx.has_residual = residual is not None
        ctx.set_materialize_grads(False)
        return y.view(x.shape), res_out.view(x.shape)

    @staticmethod
    def backward(ctx, dy, dres):
        res_out, weight, rstd = ctx.saved_tensors
        shape = (dy if dy is not None else dres).shape
        if dy is None:
            dy = torch.zeros(shape, dtype=ctx.x_dtype, device=res_out.device)
        dx, dres_in, dw = _backward(res_out, weight, rstd, dy, dres, ctx.x_dtype,
                                    residual_grad=ctx.has_residual)
        return dx.view(shape), None if dres_in is None else dres_in.view(shape), dw, None


def rms_norm_triton(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Triton ``rms_norm_ref``: x (..., d), weight (d,) -> x's shape and dtype."""
    return _RMSNorm.apply(x, weight.contiguous(), eps)


def add_rms_norm_triton(x: torch.Tensor, residual: torch.Tensor | None, weight: torch.Tensor,
                        eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Triton ``add_rms_norm_ref``: (normed in x's dtype, new residual float32), both x's shape;
    differentiable in x, residual and weight."""
    if residual is not None and residual.shape != x.shape:
        raise ValueError(f"residual must have x's shape {tuple(x.shape)}, "
                         f"got {tuple(residual.shape)}")
    return _AddRMSNorm.apply(x, residual, weight.contiguous(), eps)
