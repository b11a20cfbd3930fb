"""Time the Triton small ops against their PyTorch references at a Mamba layer's shapes.

Causal conv1d (width 4, bias, SiLU) at (batch 8, d_inner 3072, length L), in the dim-major
layout and in the channel-last view that in_proj produces; (add +) RMSNorm at
(batch 8, L, d_model 1536); the decoding steps at (batch 8, d_inner 3072, state 16).
Forward and forward+backward, milliseconds (triton.testing.do_bench, median), and the HBM
bandwidth our kernel reaches counting each tensor it must read or write once.

    PYTHONUNBUFFERED=1 python benchmarks/small_ops.py [--lengths 2048 8192] [--dtype bf16]
"""
from __future__ import annotations

import argparse
from typing import Callable

import torch
from triton.testing import do_bench

from mambaseq.kernels.conv_reference import causal_conv1d_ref, causal_conv1d_update_ref
from mambaseq.kernels.norm_reference import add_rms_norm_ref, rms_norm_ref
from mambaseq.kernels.step_reference import selective_state_update_ref
from mambaseq.kernels.triton_conv import causal_conv1d_triton, causal_conv1d_update_triton
from mambaseq.kernels.triton_norm import add_rms_norm_triton, rms_norm_triton
from mambaseq.kernels.triton_step import selective_state_update_triton

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def fwd_bwd(fn: Callable, inputs: list[torch.Tensor]) -> Callable[[], None]:
    """A closure running fn's forward and the backward of all its outputs (fixed cotangents);
    gradients are returned, not accumulated into .grad."""
    out = fn()
    out = out if isinstance(out, tuple) else (out,)
    cotangents = [torch.randn_like(o) for o in out]

    def run() -> None:
        result = fn()
        result = result if isinstance(result, tuple) else (result,)
        torch.autograd.grad(result, inputs, cotangents)
    return run


def row(name: str, shape: str, mode: str, ref: Callable, ours: Callable, nbytes: int) -> str:
    ref_ms, our_ms = do_bench(ref), do_bench(ours)
    return (f"| {name} | {shape} | {mode} | {ref_ms:.3f} | {our_ms:.3f} | {ref_ms / our_ms:.2f} "
            f"| {nbytes / our_ms / 1e6:.0f} |")


def conv_rows(batch: int, dim: int, length: int, dtype: torch.dtype,
              channel_last: bool) -> list[str]:
    dev = "cuda"
    x = (torch.randn(batch, length, dim, device=dev, dtype=dtype).transpose(1, 2)
         if channel_last else torch.randn(batch, dim, length, device=dev, dtype=dtype))
    x.requires_grad_()
    w = torch.randn(dim, 4, device=dev, requires_grad=True)
    b = torch.randn(dim, device=dev, requires_grad=True)
    ref = lambda: causal_conv1d_ref(x, w, b, "silu")  # noqa: E731
    ours = lambda: causal_conv1d_triton(x, w, b, "silu")  # noqa: E731
    name = "causal_conv1d" + (" (channel-last)" if channel_last else "")
    shape = f"{batch}x{dim}x{length}"
    n = x.numel() * x.element_size()
    with torch.no_grad():
        rows = [row(name, shape, "fwd", ref, ours, 2 * n)]
    rows.append(row(name, shape, "fwd+bwd", fwd_bwd(ref, [x, w, b]), fwd_bwd(ours, [x, w, b]),
                    5 * n))
    return rows


def norm_rows(batch: int, length: int, d_model: int, dtype: torch.dtype) -> list[str]:
    dev = "cuda"
    x = torch.randn(batch, length, d_model, device=dev, dtype=dtype, requires_grad=True)
    res = torch.randn(batch, length, d_model, device=dev, requires_grad=True)
    w = torch.rand(d_model, device=dev, requires_grad=True)
    shape = f"{batch}x{length}x{d_model}"
    n, n32 = x.numel() * x.element_size(), x.numel() * 4
    rows = []
    for name, ref, ours, inputs, fwd_bytes, bwd_bytes in [
        ("rms_norm", lambda: rms_norm_ref(x, w), lambda: rms_norm_triton(x, w), [x, w],
         2 * n, 3 * n),
        ("add_rms_norm", lambda: add_rms_norm_ref(x, res, w), lambda: add_rms_norm_triton(x, res, w),
         [x, res, w], 2 * n + 2 * n32, 2 * n + 3 * n32),
    ]:
        with torch.no_grad():
            rows.append(row(name, shape, "fwd", ref, ours, fwd_bytes))
        rows.append(row(name, shape, "fwd+bwd", fwd_bwd(ref, inputs), fwd_bwd(ours, inputs),
                        fwd_bytes + bwd_bytes))
    return rows


def step_rows(batch: int, dim: int, nstate: int, dtype: torch.dtype) -> list[str]:
    dev = "cuda"
    state = torch.randn(batch, dim, nstate, device=dev)
    x, dt, z = (torch.randn(batch, dim, device=dev, dtype=dtype) for _ in range(3))
    A = -torch.rand(dim, nstate, device=dev)
    B, C = (torch.randn(batch, nstate, device=dev, dtype=dtype) for _ in range(2))
    D, dt_bias = torch.randn(dim, device=dev), torch.randn(dim, device=dev)
    args = (x, dt, A, B, C, D, z, dt_bias, True)
    conv_state = torch.randn(batch, dim, 3, device=dev, dtype=dtype)
    w, b = torch.randn(dim, 4, device=dev), torch.randn(dim, device=dev)
    return [
        row("selective_state_update", f"{batch}x{dim}x{nstate}", "step",
            lambda: selective_state_update_ref(state, *args),
            lambda: selective_state_update_triton(state, *args), 2 * state.numel() * 4),
        row("causal_conv1d_update", f"{batch}x{dim}x4", "step",
            lambda: causal_conv1d_update_ref(x, conv_state, w, b, "silu"),
            lambda: causal_conv1d_update_triton(x, conv_state, w, b, "silu"),
            2 * conv_state.numel() * conv_state.element_size()),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[2048, 8192])
    parser.add_argument("--dtype", choices=DTYPES, default="bf16")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--d-inner", type=int, default=3072)
    parser.add_argument("--d-model", type=int, default=1536)
    args = parser.parse_args()
    dtype = DTYPES[args.dtype]
    torch.manual_seed(0)
    print(f"{torch.cuda.get_device_name()}, {args.dtype}; ms = median of do_bench; "
          f"GB/s = bytes our kernel must move / our time")
    print("| op | shape | mode | reference ms | triton ms | speedup | triton GB/s |")
    print("|---|---|---|---|---|---|---|")
    for length in args.lengths:
        for channel_last in (False, True):
            for line in conv_rows(args.batch, args.d_inner, length, dtype, channel_last):
                print(line)
        for line in norm_rows(args.batch, length, args.d_model, dtype):
            print(line)
    for line in step_rows(args.batch, args.d_inner, 16, dtype):
        print(line)


if __name__ == "__main__":
    main()
