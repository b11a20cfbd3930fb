"""The public ops: one dispatching function per op. Each picks the Triton kernel for CUDA
tensors (see ``kernels.backend``) and the PyTorch reference otherwise; both take and return
the same shapes and dtypes, documented on the reference functions. The Triton modules are
imported only when first used, so ``import kernels`` never loads Triton (which must see
``TRITON_INTERPRET`` before its import).
"""
from __future__ import annotations

import torch

from .backend import grad_wanted, kernel_choice, use_triton
from .conv_reference import causal_conv1d_ref, causal_conv1d_update_ref
from .norm_reference import add_rms_norm_ref, rms_norm_ref
from .scan_reference import check_scan_shapes, selective_scan_ref
from .step_reference import (SPLIT_MIN_DEPTH, STREAMING_MAX_ROWS, STREAMING_MIN_COLS,
                             decode_linear_ref, selective_state_update_ref)


def selective_scan(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                   C: torch.Tensor, D: torch.Tensor | None = None, z: torch.Tensor | None = None,
                   delta_bias: torch.Tensor | None = None, delta_softplus: bool = False,
                   initial_state: torch.Tensor | None = None, return_final_state: bool = False,
                   cu_seqlens: torch.Tensor | None = None):
    """Selective scan; contract and shapes in ``kernels.scan_reference.selective_scan_ref``
    (packed sequences: ``cu_seqlens``, see ``kernels.varlen``).

    Runs the fused Triton kernels (``kernels.triton_scan``) when ``use_triton(u)`` holds and
    they support the call (``triton_supports``); the reference otherwise.
    """
    if use_triton(u):
        from .triton_scan import selective_scan_triton, triton_supports
        check_scan_shapes(u, delta, A, B, C, D, z, delta_bias, initial_state, cu_seqlens)
        if triton_supports(u, B):
            return selective_scan_triton(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                         initial_state, return_final_state, cu_seqlens)
    return selective_scan_ref(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                              initial_state, return_final_state, cu_seqlens)


def selective_state_update(state: torch.Tensor, x: torch.Tensor, delta: torch.Tensor,
                           A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                           D: torch.Tensor | None = None, z: torch.Tensor | None = None,
                           delta_bias: torch.Tensor | None = None,
                           delta_softplus: bool = False,
                           dt_weight: torch.Tensor | None = None) -> torch.Tensor:
    """One decoding step of the scan, state updated in place; see ``selective_state_update_ref``
    (with ``dt_weight``, ``delta`` is Δ's low-rank code, multiplied inside the Triton kernel)."""
    if use_triton(state, x, delta, A, B, C, D, z, delta_bias, dt_weight):
        from .triton_step import selective_state_update_triton
        return selective_state_update_triton(state, x, delta, A, B, C, D, z, delta_bias,
                                             delta_softplus, dt_weight)
    return selective_state_update_ref(state, x, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                      dt_weight)


def decode_linear(x: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None) -> torch.Tensor:
    """A decoding step's linear layer, x (rows, K) -> (rows, N) in x's dtype; see
    ``decode_linear_ref``. The weight-streaming Triton kernel (``kernels.triton_linear``,
    forward only) for the shapes where it was measured faster than cuBLAS (see
    ``step_reference.STREAMING_MAX_ROWS``), its split-depth form for narrow, deep ones
    (``SPLIT_MIN_DEPTH``; every shape with MAMBASEQ_KERNELS=triton), when ``use_triton``
    holds, x and weight share a dtype, autocast is off and no gradient is asked for;
    ``F.linear`` otherwise (autocast applies to it as to any linear layer)."""
    narrow = weight.shape[0] < STREAMING_MIN_COLS
    split = narrow and weight.shape[-1] >= SPLIT_MIN_DEPTH
    faster = kernel_choice() == "triton" or (
        x.shape[0] <= STREAMING_MAX_ROWS and (split or not narrow))
    wants_grad = grad_wanted(x, weight, bias)
    if (faster and x.dim() == 2 and x.dtype == weight.dtype and not wants_grad
            and use_triton(x, weight, bias) and not torch.is_autocast_enabled(x.device.type)):
        from .triton_linear import decode_linear_split_triton, decode_linear_triton
        return (decode_linear_split_triton if split else decode_linear_triton)(x, weight, bias)
    return decode_linear_ref(x, weight, bias)


def causal_conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                  activation: str | None = None, initial_state: torch.Tensor | None = None,
                  return_final_state: bool = False, cu_seqlens: torch.Tensor | None = None):
    """Causal depthwise conv1d; see ``kernels.conv_reference.causal_conv1d_ref`` (packed
    sequences: ``cu_seqlens``, see ``kernels.varlen``)."""
    if use_triton(x, weight, bias, initial_state):
        from .triton_conv import causal_conv1d_triton
        return causal_conv1d_triton(x, weight, bias, activation, initial_state,
                                    return_final_state, cu_seqlens)
    return causal_conv1d_ref(x, weight, bias, activation, initial_state, return_final_state,
                             cu_seqlens)


def causal_conv1d_update(x: torch.Tensor, conv_state: torch.Tensor, weight: torch.Tensor,
                         bias: torch.Tensor | None = None,
                         activation: str | None = None) -> torch.Tensor:
    """One step of the causal conv, window updated in place; see ``causal_conv1d_update_ref``."""
    if use_triton(x, conv_state, weight, bias):
        from .triton_conv import causal_conv1d_update_triton
        return causal_conv1d_update_triton(x, conv_state, weight, bias, activation)
    return causal_conv1d_update_ref(x, conv_state, weight, bias, activation)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """RMSNorm over the last dimension; see ``kernels.norm_reference.rms_norm_ref``."""
    if use_triton(x, weight):
        from .triton_norm import rms_norm_triton
        return rms_norm_triton(x, weight, eps)
    return rms_norm_ref(x, weight, eps)


def add_rms_norm(x: torch.Tensor, residual: torch.Tensor | None, weight: torch.Tensor,
                 eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Residual add in float32 then RMSNorm; see ``kernels.norm_reference.add_rms_norm_ref``."""
    if use_triton(x, residual, weight):
        from .triton_norm import add_rms_norm_triton
        return add_rms_norm_triton(x, residual, weight, eps)
    return add_rms_norm_ref(x, residual, weight, eps)
