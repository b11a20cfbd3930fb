"""Causal depthwise conv1d in Triton: forward, backward and the one-step decoding update.

Same contract as ``kernels.conv_reference``: x (batch, dim, length) in any float dtype (any
strides, channel-last views included); weight (dim, W); bias (dim,); initial_state
(batch, dim, W - 1) oldest first. Arithmetic is float32 whatever the storage dtype; outputs
and gradients come back in the dtype of the tensor they belong to.

Each program owns a (BLOCK_D channels) x (BLOCK_L positions) tile and reads the W shifted
copies of x it needs straight from global memory (they hit L1/L2, so HBM sees each element
once). The backward is two kernels: the first recomputes the pre-activation (not stored by
the forward), forms the gradient g at the pre-activation (kept in float32 for the second,
with SiLU), and reduces the weight and bias gradients through per-tile partial sums
(deterministic, no atomics); the second sums W shifted tiles of g into the input's gradient.
One kernel recomputing g at the W shifts itself read 4x the taps and spilled (255 registers
on sm_90 at every tile shape; ``benchmarks/kernel_stats.py``).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .backend import triton_interpreted
from .triton_pdl import pdl_options, wait_for_previous_kernel
from .varlen import check_cu_seqlens, last_inputs, sequence_ids

_ACTIVATIONS = (None, "silu")
# Length of the tile every backward program covers: fixed so the partial sums of the weight
# gradient have a known shape before launch.
_BWD_BLOCK_L = 32 if triton_interpreted() else 128


def _configs(options: list[tuple[int, int, int]]) -> list[triton.Config]:
    """(BLOCK_D, BLOCK_L, num_warps) options; only the first under the interpreter."""
    if triton_interpreted():
        return [triton.Config({"BLOCK_D": 16, "BLOCK_L": 32}, num_warps=1)]
    return [triton.Config({"BLOCK_D": d, "BLOCK_L": l}, num_warps=w) for d, l, w in options]


def length_class(length: int) -> int:
    """The autotuning key's stand-in for a length: the next power of two. Packed and padded
    variable-length batches change the length every step; keyed on the length itself, every
    step would re-run the autotuning benchmarks (seconds a step). The layout enters the keys
    as the length stride (1 dim-major, the channel count channels-last), which, unlike the
    channel stride of a dim-major tensor, does not change with the length."""
    return triton.next_power_of_2(length)


@triton.jit
def _sequence_start(start_ptr, t, length):
    """Packed sequences: the first position of the sequence each of the positions t is in."""
    return tl.load(start_ptr + t, mask=(t >= 0) & (t < length), other=0)


@triton.jit
def _load_padded(x_ptr, init_ptr, b, offs_d, pos, lo, dim, length,
                 sxb, sxd, sxl, sib, sid, sil,
                 W: tl.constexpr, HAS_INIT: tl.constexpr, VARLEN: tl.constexpr):
    """float32 tile of the padded input [initial_state | x] at positions ``pos`` (x's time
    axis; -(W-1) <= pos < 0 reads initial_state); zero outside the channels and positions.
    Only the first tile along the length (program_id(0) == 0) can reach back before x.
    VARLEN: also zero before ``lo`` (per position: the start of the reading output's sequence)."""
    d = offs_d[:, None]
    p = pos[None, :]
    d_ok = d < dim
    if VARLEN:
        p_ok = p >= lo[None, :]
    else:
        p_ok = p >= 0
    v = tl.load(x_ptr + b * sxb + d * sxd + p * sxl,
                mask=d_ok & p_ok & (p < length), other=0.0).to(tl.float32)
    if HAS_INIT:
        if tl.program_id(0) == 0:
            v += tl.load(init_ptr + b * sib + d * sid + (p + W - 1) * sil,
                         mask=d_ok & (p < 0) & (p >= 1 - W), other=0.0).to(tl.float32)
    return v


@triton.jit
def _preactivation(x_ptr, init_ptr, w_ptr, bias_ptr, b, offs_d, t, lo, dim, length,
                   sxb, sxd, sxl, sib, sid, sil, swd, swk,
                   W: tl.constexpr, HAS_INIT: tl.constexpr, HAS_BIAS: tl.constexpr,
                   VARLEN: tl.constexpr):
    """float32 (BLOCK_D, BLOCK_L) tile of bias + sum_k weight[:, k] * x_pad[t - W + 1 + k]
    (VARLEN: taps before ``lo``, the start of t's sequence, read zero)."""
    d_ok = offs_d < dim
    acc = tl.zeros((offs_d.shape[0], t.shape[0]), dtype=tl.float32)
    for k in tl.static_range(W):
        w_k = tl.load(w_ptr + offs_d * swd + k * swk, mask=d_ok, other=0.0).to(tl.float32)
        acc += w_k[:, None] * _load_padded(x_ptr, init_ptr, b, offs_d, t - (W - 1) + k, lo,
                                           dim, length, sxb, sxd, sxl, sib, sid, sil, W,
                                           HAS_INIT, VARLEN)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)[:, None]
    return acc


@triton.autotune(configs=_configs([(16, 256, 4), (32, 128, 4), (64, 64, 4), (64, 128, 8)]),
                 key=["dim", "length_class", "sxl"])
@triton.jit
def _conv_fwd_kernel(x_ptr, init_ptr, w_ptr, bias_ptr, y_ptr, start_ptr, dim, length,
                     length_class, sxb, sxd, sxl, sib, sid, sil, swd, swk, syb, syd, syl,
                     W: tl.constexpr, HAS_INIT: tl.constexpr, HAS_BIAS: tl.constexpr,
                     SILU: tl.constexpr, VARLEN: tl.constexpr, BLOCK_D: tl.constexpr,
                     BLOCK_L: tl.constexpr):
    b = tl.program_id(2).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    t = tl.program_id(0) * BLOCK_L + tl.arange(0, BLOCK_L)
    lo = t
    if VARLEN:
        lo = _sequence_start(start_ptr, t, length)
    y = _preactivation(x_ptr, init_ptr, w_ptr, bias_ptr, b, offs_d, t, lo, dim, length,
                       sxb, sxd, sxl, sib, sid, sil, swd, swk, W, HAS_INIT, HAS_BIAS, VARLEN)
    if SILU:
        y = y * tl.sigmoid(y)
    mask = (offs_d[:, None] < dim) & (t[None, :] < length)
    tl.store(y_ptr + b * syb + offs_d[:, None] * syd + t[None, :] * syl,
             y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.autotune(configs=_configs([(16, _BWD_BLOCK_L, 4), (32, _BWD_BLOCK_L, 4),
                                   (32, _BWD_BLOCK_L, 8), (64, _BWD_BLOCK_L, 8)]),
                 key=["dim", "length_class", "sxl"])
@triton.jit
def _conv_bwd_weight_kernel(x_ptr, init_ptr, w_ptr, bias_ptr, dy_ptr, g_ptr, dw_part_ptr,
                            db_part_ptr, start_ptr, dim, length, length_class,
                            sxb, sxd, sxl, sib, sid, sil, swd, swk, sgb, sgd, sgl, spb, spd, spl,
                            W: tl.constexpr, HAS_INIT: tl.constexpr, HAS_BIAS: tl.constexpr,
                            SILU: tl.constexpr, VARLEN: tl.constexpr, BLOCK_D: tl.constexpr,
                            BLOCK_L: tl.constexpr):
    """Tile t in [0, length): g = dLoss/d(pre-activation) (dy itself without SILU; with it,
    dy times SiLU's derivative at the recomputed pre-activation, stored float32 in g_ptr,
    strides (spb, spd, spl), for ``_conv_bwd_input_kernel``), and this tile's partial sums
    of the weight gradient (sum_t g[t] x_pad[t - (W-1) + k] for each tap k) and of the bias
    gradient."""
    b = tl.program_id(2).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    t = tl.program_id(0) * BLOCK_L + tl.arange(0, BLOCK_L)
    d_ok = offs_d < dim
    d, p = offs_d[:, None], t[None, :]
    in_x = (d < dim) & (p < length)
    lo = t
    if VARLEN:
        lo = _sequence_start(start_ptr, t, length)
    g = tl.load(dy_ptr + b * sgb + d * sgd + p * sgl, mask=in_x, other=0.0).to(tl.float32)
    if SILU:
        pre = _preactivation(x_ptr, init_ptr, w_ptr, bias_ptr, b, offs_d, t, lo, dim, length,
                             sxb, sxd, sxl, sib, sid, sil, swd, swk, W, HAS_INIT, HAS_BIAS,
                             VARLEN)
        sig = tl.sigmoid(pre)
        g = g * sig * (1.0 + pre * (1.0 - sig))
        tl.store(g_ptr + b * spb + d * spd + p * spl, g, mask=in_x)
    part = (b * tl.num_programs(0) + tl.program_id(0)) * dim
    for k in tl.static_range(W):
        xs = _load_padded(x_ptr, init_ptr, b, offs_d, t - (W - 1) + k, lo, dim, length,
                          sxb, sxd, sxl, sib, sid, sil, W, HAS_INIT, VARLEN)
        tl.store(dw_part_ptr + (part + offs_d) * W + k, tl.sum(g * xs, axis=1), mask=d_ok)
    if HAS_BIAS:
        tl.store(db_part_ptr + part + offs_d, tl.sum(g, axis=1), mask=d_ok)


@triton.autotune(configs=_configs([(16, 256, 4), (32, 128, 4), (64, 64, 4), (64, 128, 8)]),
                 key=["dim", "length_class", "sgl"])
@triton.jit
def _conv_bwd_input_kernel(w_ptr, g_ptr, dx_ptr, dinit_ptr, start_ptr, dim, length,
                           length_class, swd, swk, sgb, sgd, sgl, sdxb, sdxd, sdxl,
                           sdib, sdid, sdil, W: tl.constexpr, HAS_INIT: tl.constexpr,
                           VARLEN: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_L: tl.constexpr):
    """Tile o in [0, length + W - 1): dx[s] = sum_k w[:, k] g[o - k] at s = o - (W - 1),
    initial_state's gradient where s < 0; g as ``_conv_bwd_weight_kernel`` left it (zero
    outside [0, length)). VARLEN: output t = o - k passes gradient to s only when s is in
    t's own sequence."""
    b = tl.program_id(2).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    o = tl.program_id(0) * BLOCK_L + tl.arange(0, BLOCK_L)
    d_ok = offs_d < dim
    d = offs_d[:, None]
    s = o[None, :] - (W - 1)
    dx = tl.zeros((BLOCK_D, BLOCK_L), dtype=tl.float32)
    for k in tl.static_range(W):
        w_k = tl.load(w_ptr + offs_d * swd + k * swk, mask=d_ok, other=0.0).to(tl.float32)
        t = o - k
        ok = (d < dim) & (t[None, :] >= 0) & (t[None, :] < length)
        if VARLEN:
            ok = ok & (_sequence_start(start_ptr, t, length)[None, :] <= s)
        g_k = tl.load(g_ptr + b * sgb + d * sgd + t[None, :] * sgl, mask=ok, other=0.0)
        dx += w_k[:, None] * g_k.to(tl.float32)
    tl.store(dx_ptr + b * sdxb + d * sdxd + s * sdxl, dx.to(dx_ptr.dtype.element_ty),
             mask=(d < dim) & (s >= 0) & (s < length))
    if HAS_INIT:
        tl.store(dinit_ptr + b * sdib + d * sdid + o[None, :] * sdil,
                 dx.to(dinit_ptr.dtype.element_ty), mask=(d < dim) & (s < 0))


def _strides(t: torch.Tensor | None) -> tuple[int, ...]:
    """Strides of a 3-D tensor, or zeros for an absent one."""
    return (0, 0, 0) if t is None else tuple(t.stride())


class _CausalConv1d(torch.autograd.Function):
    """Autograd wrapper; ``starts`` (length,) int32 is each position's sequence start for
    packed sequences, None otherwise."""

    @staticmethod
    def forward(ctx, x, weight, bias, initial_state, starts, silu: bool):
        batch, dim, length = x.shape
        y = torch.empty_like(x)
        grid = lambda meta: (triton.cdiv(length, meta["BLOCK_L"]),  # noqa: E731
                             triton.cdiv(dim, meta["BLOCK_D"]), batch)
        _conv_fwd_kernel[grid](x, initial_state, weight, bias, y, starts, dim, length,
                               length_class(length), *x.stride(), *_strides(initial_state),
                               *weight.stride(), *y.stride(), W=weight.shape[1], HAS_INIT=initial_state is not None,
                               HAS_BIAS=bias is not None, SILU=silu, VARLEN=starts is not None)
        ctx.save_for_backward(x, weight, bias, initial_state, starts)
        ctx.silu = silu
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, bias, initial_state, starts = ctx.saved_tensors
        batch, dim, length = x.shape
        width = weight.shape[1]
        n_tiles = triton.cdiv(length, _BWD_BLOCK_L)
        dw_part = x.new_empty(batch * n_tiles, dim, width, dtype=torch.float32)
        db_part = None if bias is None else x.new_empty(batch * n_tiles, dim, dtype=torch.float32)
        # SiLU's chain rule needs the pre-activation: the first kernel stores g (float32, x's
        # layout where x is dense); without SiLU, g is dy itself
        g = torch.empty_like(x, dtype=torch.float32) if ctx.silu else dy
        grid = lambda meta: (n_tiles, triton.cdiv(dim, meta["BLOCK_D"]), batch)  # noqa: E731
        _conv_bwd_weight_kernel[grid](
            x, initial_state, weight, bias, dy, g, dw_part, db_part, starts, dim, length,
            length_class(length), *x.stride(), *_strides(initial_state), *weight.stride(),
            *dy.stride(), *g.stride(), W=width, HAS_INIT=initial_state is not None,
            HAS_BIAS=bias is not None, SILU=ctx.silu, VARLEN=starts is not None)
        dx = torch.empty_like(x)
        dinit = None if initial_state is None else torch.empty_like(initial_state)
        grid = lambda meta: (triton.cdiv(length + width - 1, meta["BLOCK_L"]),  # noqa: E731
                             triton.cdiv(dim, meta["BLOCK_D"]), batch)
        _conv_bwd_input_kernel[grid](
            weight, g, dx, dinit, starts, dim, length, length_class(length), *weight.stride(),
            *g.stride(), *dx.stride(), *_strides(dinit), W=width,
            HAS_INIT=initial_state is not None, VARLEN=starts is not None)
        dw = dw_part.sum(0).to(weight.dtype)
        db = None if bias is None else db_part.sum(0).to(bias.dtype)
        return dx, dw, db, dinit, None, None


def _check(x: torch.Tensor, weight: torch.Tensor, activation: str | None,
           initial_state: torch.Tensor | None) -> None:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
    if x.dim() != 3 or weight.dim() != 2 or weight.shape[0] != x.shape[1]:
        raise ValueError(f"need x (batch, dim, length) and weight (dim, W), got "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}")
    expected = (x.shape[0], x.shape[1], weight.shape[1] - 1)
    if initial_state is not None and tuple(initial_state.shape) != expected:
        raise ValueError(f"initial_state must be (batch, dim, width-1) = {expected}, "
                         f"got {tuple(initial_state.shape)}")


def causal_conv1d_triton(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                         activation: str | None = None,
                         initial_state: torch.Tensor | None = None,
                         return_final_state: bool = False,
                         cu_seqlens: torch.Tensor | None = None):
    """Triton ``causal_conv1d_ref``: y (batch, dim, length) in x's dtype, or (y, final_state)
    with final_state (batch, dim, W - 1) the last W - 1 inputs in x's dtype. Differentiable
    in x, weight, bias and initial_state. Packed sequences (``cu_seqlens``, batch 1, no
    initial_state) as in the reference: final_state is then (n_seqs, dim, W - 1)."""
    _check(x, weight, activation, initial_state)
    bias = None if bias is None else bias.contiguous()
    starts = None
    if cu_seqlens is not None:
        check_cu_seqlens(cu_seqlens, x.shape[0], x.shape[-1])
        if initial_state is not None:
            raise ValueError("causal_conv1d: initial_state is not supported with cu_seqlens")
        cu = cu_seqlens.to(device=x.device, dtype=torch.int64)
        starts = cu[:-1][sequence_ids(cu, x.shape[-1])].to(torch.int32)
    y = _CausalConv1d.apply(x, weight, bias, initial_state, starts, activation == "silu")
    if not return_final_state:
        return y
    if cu_seqlens is not None:
        return y, last_inputs(x, cu_seqlens, weight.shape[1] - 1)
    batch, dim, length = x.shape
    keep = weight.shape[1] - 1
    before = (x.new_zeros(batch, dim, keep) if initial_state is None
              else initial_state.to(x.dtype))
    final_state = torch.cat([before, x[..., length - min(length, keep):]], dim=-1)
    return y, final_state[..., final_state.shape[-1] - keep:]


@triton.jit
def _conv_update_kernel(x_ptr, state_ptr, w_ptr, bias_ptr, y_ptr, dim,
                        sxb, sxd, ssb, ssd, ssk, swd, swk, syb, syd,
                        W: tl.constexpr, HAS_BIAS: tl.constexpr, SILU: tl.constexpr,
                        PDL: tl.constexpr, BLOCK_D: tl.constexpr):
    wait_for_previous_kernel(PDL)
    b = tl.program_id(0).to(tl.int64)
    offs_d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    d_ok = offs_d < dim
    state = state_ptr + b * ssb + offs_d * ssd
    acc = tl.zeros((BLOCK_D,), dtype=tl.float32)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)
    for k in tl.static_range(W - 1):
        v = tl.load(state + k * ssk, mask=d_ok, other=0.0)
        acc += tl.load(w_ptr + offs_d * swd + k * swk, mask=d_ok, other=0.0).to(tl.float32) \
            * v.to(tl.float32)
        if k > 0:
            tl.store(state + (k - 1) * ssk, v, mask=d_ok)
    x = tl.load(x_ptr + b * sxb + offs_d * sxd, mask=d_ok, other=0.0)
    acc += tl.load(w_ptr + offs_d * swd + (W - 1) * swk, mask=d_ok, other=0.0).to(tl.float32) \
        * x.to(tl.float32)
    if W > 1:
        tl.store(state + (W - 2) * ssk, x.to(state_ptr.dtype.element_ty), mask=d_ok)
    if SILU:
        acc = acc * tl.sigmoid(acc)
    tl.store(y_ptr + b * syb + offs_d * syd, acc.to(y_ptr.dtype.element_ty), mask=d_ok)


def causal_conv1d_update_triton(x: torch.Tensor, conv_state: torch.Tensor, weight: torch.Tensor,
                                bias: torch.Tensor | None = None,
                                activation: str | None = None) -> torch.Tensor:
    """Triton ``causal_conv1d_update_ref``: x (batch, dim); conv_state (batch, dim, W - 1)
    shifted in place (kept in its own dtype); returns y_t (batch, dim) in x's dtype."""
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
    batch, dim = x.shape
    width = weight.shape[1]
    if tuple(conv_state.shape) != (batch, dim, width - 1):
        raise ValueError(f"conv_state must be (batch, dim, width-1) = {(batch, dim, width - 1)}, "
                         f"got {tuple(conv_state.shape)}")
    bias = None if bias is None else bias.contiguous()
    y = torch.empty_like(x)
    block_d = 16 if triton_interpreted() else 256
    _conv_update_kernel[(batch, triton.cdiv(dim, block_d))](
        x, conv_state, weight, bias, y, dim, *x.stride(), *conv_state.stride(), *weight.stride(),
        *y.stride(), W=width, HAS_BIAS=bias is not None, SILU=activation == "silu",
        BLOCK_D=block_d, **pdl_options(x))
    return y
