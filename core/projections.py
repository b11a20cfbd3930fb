"""Linear projections into and out of the channel-major layout of the Mamba mixer's inner
activations.

The mixer's conv and selective scan read a channel's steps adjacent in memory. A token-major
input (batch * length, d_model) is projected straight into that layout as one matrix
product, ``weight @ x.T`` (out, batch * length), the layout mamba_ssm's fused block uses,
instead of producing (batch * length, out) and transposing it: a transposing copy of a whole
activation tensor costs more than the product at long lengths. ``into_channels`` also keeps
its backward token-major, so the residual stream's gradient needs no transposing copy either.
Out of the layout, ``F.linear`` on the transposed view does the same (cuBLAS reads the
transposed operand in place), and its gradient arrives channels-last, which the scan reads
as it is.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class _IntoChannels(torch.autograd.Function):
    """forward(x (n, in), weight (out, in), bias (out,) or None) -> (out, n) = weight @ x.T +
    bias; backward gives x's gradient (n, in) contiguous."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        out = torch.mm(weight, x.t())                       # autocast casts both alike
        if bias is not None:
            out = out + bias.to(out.dtype)[:, None]
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = torch.mm(grad.t(), weight.to(grad.dtype)).to(x.dtype)
        if ctx.needs_input_grad[1]:
            dw = torch.mm(grad, x.to(grad.dtype)).to(weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = grad.sum(1).to(weight.dtype)
        return dx, dw, db


def into_channels(x: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None) -> torch.Tensor:
    """(batch, length, in) -> (batch, out, length) = the linear map of every token, as a view
    of (out, batch * length) memory: each channel's steps adjacent (length stride 1), batch
    stride length, channel stride batch * length. Under autocast the product runs in the
    autocast dtype, as ``F.linear`` would."""
    batch, length, _ = x.shape
    out = _IntoChannels.apply(x.reshape(batch * length, -1), weight, bias)
    return out.view(-1, batch, length).transpose(0, 1)


class IntoChannels(nn.Linear):
    """``nn.Linear`` (same parameters, same state-dict keys) whose forward on a sequence
    (batch, length, in) returns (batch, out, length) in the channel-major layout of
    ``into_channels``; a single token (batch, in) maps to (batch, out) as a plain linear."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            return into_channels(x, self.weight, self.bias)
        return super().forward(x)


def channel_matrix(x: torch.Tensor) -> torch.Tensor:
    """(batch, channels, length) -> (channels, batch * length): a view for the layout
    ``into_channels`` makes (and for any batch of one whose steps are adjacent), else a copy."""
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def from_matrix(m: torch.Tensor, batch: int) -> torch.Tensor:
    """(channels, batch * length) -> (batch, channels, length), a view."""
    return m.view(m.shape[0], batch, -1).transpose(0, 1)
