"""Causal depthwise 1-D convolution (Mamba's short convolution) in plain PyTorch.

The window is a handful of taps (Mamba's is 4), so the convolution is written as one
multiply-add per tap over shifted views of the input, forward and backward
(``_ShiftedTaps``), channels last. On two CPU threads ``F.conv1d``'s depthwise backward
(oneDNN) took 2.2 s for one (1, 256, 4096) layer, these taps 40 ms forward and backward.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .step_reference import as_dtype
from .varlen import check_cu_seqlens, last_inputs

_ACTIVATIONS = (None, "silu")


def _check_activation(activation: str | None) -> None:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")


class _ShiftedTaps(torch.autograd.Function):
    """y[:, t] = bias + sum_k weight[:, k] * padded[:, t + k] over the W taps, channels last:
    padded (batch, length + W - 1, dim), weight (dim, W), bias (dim,) or None ->
    y (batch, length, dim). Every tap is one multiply-add over a shifted view."""

    @staticmethod
    def forward(ctx, padded: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        taps = weight.t()                                              # (W, dim)
        width = taps.shape[0]
        length = padded.shape[1] - width + 1
        y = padded[:, width - 1:] * taps[width - 1]
        if bias is not None:
            y += bias
        for k in range(width - 1):
            y.addcmul_(padded[:, k:k + length], taps[k])
        ctx.has_bias = bias is not None
        ctx.save_for_backward(padded, weight)
        return y

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        padded, weight = ctx.saved_tensors
        taps, length = weight.t(), dy.shape[1]
        d_padded = padded.new_zeros(padded.shape)
        d_weight = weight.new_empty(weight.shape)
        for k in range(taps.shape[0]):
            window = padded[:, k:k + length]
            d_padded[:, k:k + length].addcmul_(dy, taps[k])
            d_weight[:, k] = (dy * window).sum((0, 1))
        d_bias = dy.sum((0, 1)) if ctx.has_bias else None
        return d_padded, d_weight, d_bias


def causal_conv1d_ref(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                      activation: str | None = None, initial_state: torch.Tensor | None = None,
                      return_final_state: bool = False, cu_seqlens: torch.Tensor | None = None):
    """y_t = act(bias + sum_k weight[:, k] * x_{t - W + 1 + k}) per channel; nothing from the future.

    x (batch, dim, length); weight (dim, W); bias (dim,); initial_state (batch, dim, W - 1): the
    W - 1 inputs before x (zeros when None), oldest first. Returns y (batch, dim, length) in x's
    dtype, or (y, final_state) where final_state (batch, dim, W - 1) holds the last W - 1 inputs,
    ready to continue with another chunk or with ``causal_conv1d_update_ref``.

    Packed sequences: with ``cu_seqlens`` (see ``kernels.varlen``; batch 1, no initial_state)
    the window starts empty at every sequence start and final_state is (n_seqs, dim, W - 1),
    each sequence's last inputs.
    """
    _check_activation(activation)
    batch, dim, length = x.shape
    width = weight.shape[1]
    if cu_seqlens is not None:
        check_cu_seqlens(cu_seqlens, batch, length)
        if initial_state is not None:
            raise ValueError("causal_conv1d: initial_state is not supported with cu_seqlens")
        bounds = cu_seqlens.tolist()
        y = torch.cat([causal_conv1d_ref(x[..., a:b], weight, bias, activation).transpose(1, 2)
                       for a, b in zip(bounds, bounds[1:])], dim=1).transpose(1, 2)
        return (y, last_inputs(x, cu_seqlens, width - 1)) if return_final_state else y
    if initial_state is None:
        initial_state = x.new_zeros(batch, dim, width - 1)
    elif initial_state.shape != (batch, dim, width - 1):
        raise ValueError(f"initial_state must be (batch={batch}, dim={dim}, width-1={width - 1}), "
                         f"got {tuple(initial_state.shape)}")
    # channels last, (batch, length, dim): the layout the Mamba block's activations have
    padded = torch.cat([initial_state.to(x.dtype).transpose(1, 2), x.transpose(1, 2)], dim=1)
    y = _ShiftedTaps.apply(padded, weight.to(x.dtype), None if bias is None else bias.to(x.dtype))
    if activation == "silu":
        y = F.silu(y)
    y = y.transpose(1, 2)
    if not return_final_state:
        return y
    return y, padded[:, padded.shape[1] - (width - 1):].transpose(1, 2).contiguous()


def causal_conv1d_update_ref(x: torch.Tensor, conv_state: torch.Tensor, weight: torch.Tensor,
                             bias: torch.Tensor | None = None,
                             activation: str | None = None) -> torch.Tensor:
    """One step of ``causal_conv1d_ref``: x (batch, dim) is the new input; conv_state
    (batch, dim, W - 1) holds the previous W - 1 inputs and is shifted in place. Returns y_t
    (batch, dim) in x's dtype.
    """
    _check_activation(activation)
    window = torch.cat([as_dtype(conv_state, x.dtype), x.unsqueeze(-1)], dim=-1)  # (b, dim, W)
    y = torch.linalg.vecdot(window, as_dtype(weight, x.dtype))
    if bias is not None:
        y += as_dtype(bias, x.dtype)
    conv_state.copy_(window[..., 1:])
    return F.silu(y) if activation == "silu" else y
