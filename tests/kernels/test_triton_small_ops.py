"""Triton causal conv1d (+ update), decode-step state update, the decode step's linear
layers and (add +) RMSNorm against float64 references: outputs and every gradient, relative
error max|a-b| / max|b| per tensor.

On the CPU the kernels run under Triton's interpreter, which has to be switched on before
triton is imported; ``test_kernels_under_triton_interpreter`` therefore runs this file again
in a subprocess with ``TRITON_INTERPRET=1 MAMBASEQ_KERNELS=triton``, where the small
``*_interpreted`` cases execute (in the parent process they are skipped). The ``gpu`` cases
run the same checks at real sizes on CUDA.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
import torch

from mambaseq.kernels import cu_seqlens_from_lengths, ops
from mambaseq.kernels.conv_reference import causal_conv1d_ref, causal_conv1d_update_ref
from mambaseq.kernels.step_reference import selective_state_update_ref

from .packed_cases import LENGTHS, run_alone, run_packed

ROOT = Path(__file__).resolve().parents[2]
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
TOL = {torch.float32: 1e-4, torch.bfloat16: 1e-2}
interpreted = pytest.mark.interpreted       # run by the subprocess test below (conftest)


# ---------------------------------------------------------------- checking helpers

def rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    """max|got - want| / max|want| in float64 (0 for empty tensors)."""
    if want.numel() == 0:
        return 0.0
    diff = (got.double() - want.double()).abs().max()
    return (diff / want.double().abs().max().clamp_min(1e-30)).item()


def assert_close(name: str, got: torch.Tensor, want: torch.Tensor, tol: float) -> None:
    assert got.shape == want.shape, f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    err = rel_err(got, want)
    assert err <= tol, f"{name}: relative error {err:.3e} > {tol:.0e}"


def check_against_float64(op: Callable, ref: Callable, args: dict, tol: float) -> tuple:
    """Run ``op`` on ``args`` and ``ref`` on float64 copies of them; compare every output and
    the gradient of every floating tensor argument under random output cotangents.
    Returns op's outputs (a tuple) for further checks."""
    def leaves(cast):
        return {k: cast(v).detach().clone().requires_grad_()
                if isinstance(v, torch.Tensor) and v.is_floating_point() else v
                for k, v in args.items()}
    ours, theirs = leaves(lambda t: t), leaves(lambda t: t.double())
    out, want = op(**ours), ref(**theirs)
    out = out if isinstance(out, tuple) else (out,)
    want = want if isinstance(want, tuple) else (want,)
    for i, (o, w) in enumerate(zip(out, want, strict=True)):
        assert_close(f"output {i}", o, w, tol)
    cotangents = [torch.randn_like(o) for o in out]
    inputs = [k for k, v in ours.items() if isinstance(v, torch.Tensor) and v.requires_grad]
    grads = torch.autograd.grad(out, [ours[k] for k in inputs], cotangents)
    grads_ref = torch.autograd.grad(want, [theirs[k] for k in inputs],
                                    [c.double() for c in cotangents])
    for k, g, w in zip(inputs, grads, grads_ref):
        assert g.dtype == ours[k].dtype, f"grad of {k}: dtype {g.dtype} != {ours[k].dtype}"
        assert_close(f"grad of {k}", g, w, tol)
    return out


# ---------------------------------------------------------------- causal conv1d

def check_conv(device: str, dtype: torch.dtype, batch: int, dim: int, length: int, width: int,
               bias: bool, activation: str | None, initial_state: bool, final_state: bool,
               weight_dtype: torch.dtype | None = None, channel_last: bool = False,
               sliced: bool = False) -> None:
    """sliced: the op reads the first ``length`` positions of a longer x (a view that is
    not dense)."""
    from mambaseq.kernels.triton_conv import causal_conv1d_triton
    weight_dtype = weight_dtype or dtype
    x = (torch.randn(batch, length, dim, device=device, dtype=dtype).transpose(1, 2)
         if channel_last else torch.randn(batch, dim, length + 7 * sliced, device=device,
                                          dtype=dtype))
    args = dict(x=x, weight=torch.randn(dim, width, device=device, dtype=weight_dtype) / width,
                bias=torch.randn(dim, device=device, dtype=weight_dtype) if bias else None,
                activation=activation,
                initial_state=(torch.randn(batch, dim, width - 1, device=device, dtype=dtype)
                               if initial_state else None),
                return_final_state=final_state)
    op, ref = causal_conv1d_triton, causal_conv1d_ref
    if sliced:
        op, ref = (lambda x, **kw: causal_conv1d_triton(x[..., :length], **kw),
                   lambda x, **kw: causal_conv1d_ref(x[..., :length], **kw))
    out = check_against_float64(op, ref, args, TOL[dtype])
    assert all(o.dtype == dtype for o in out)


CONV_CASES = {
    "fp32-bias-silu-init-final": dict(dtype=torch.float32, batch=2, dim=20, length=37, width=4,
                                      bias=True, activation="silu", initial_state=True,
                                      final_state=True),
    "fp32-length1-plain": dict(dtype=torch.float32, batch=2, dim=20, length=1, width=4,
                               bias=False, activation=None, initial_state=False,
                               final_state=True),
    "fp32-width3-init": dict(dtype=torch.float32, batch=1, dim=5, length=70, width=3, bias=True,
                             activation=None, initial_state=True, final_state=False),
    "fp32-width2-silu": dict(dtype=torch.float32, batch=1, dim=9, length=19, width=2,
                             bias=True, activation="silu", initial_state=True, final_state=True),
    "fp32-shorter-than-window": dict(dtype=torch.float32, batch=2, dim=6, length=2, width=4,
                                     bias=False, activation="silu", initial_state=True,
                                     final_state=True),
    "fp32-channel-last": dict(dtype=torch.float32, batch=2, dim=24, length=40, width=4,
                              bias=True, activation="silu", initial_state=False,
                              final_state=False, channel_last=True),
    "fp32-sliced-silu": dict(dtype=torch.float32, batch=2, dim=12, length=41, width=4,
                             bias=True, activation="silu", initial_state=True,
                             final_state=False, sliced=True),
    "bf16-bias-silu-init-final": dict(dtype=torch.bfloat16, batch=2, dim=17, length=45, width=4,
                                      bias=True, activation="silu", initial_state=True,
                                      final_state=True),
    "bf16-fp32-weight": dict(dtype=torch.bfloat16, batch=2, dim=20, length=33, width=4,
                             bias=True, activation="silu", initial_state=False,
                             final_state=False, weight_dtype=torch.float32),
}


@interpreted
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_interpreted(case: str) -> None:
    check_conv("cpu", **CONV_CASES[case])


def conv_case(shape: tuple[int, int, int], dtype: torch.dtype, channel_last: bool, config: int,
              name: str):
    return pytest.param(shape, dtype, channel_last, id=name,
                        marks=pytest.mark.autotune_config(config))


# shape x dtype x layout in pairs: each shape meets both dtypes and both layouts, each dtype
# both layouts (every pair of factors is tested; the full cross of 8 would compile twice as
# many kernels). 2048: length and channels multiples of every tile, 16-divisible integers;
# 8191 x 3000: a partial last tile along both, integers Triton cannot assume 16-divisible.
# Each row compiles and checks one autotuning config of each kernel (tests/conftest.py), not
# all twelve with their timing: rows 0-3 configs 0-3 of the forward and of both backward
# kernels (the packed cases below check configs 1 and 2 of the packed variants, the model
# tests config 0).
CONV_GPU_CASES = [
    conv_case((8, 1536, 2048), torch.float32, False, 0, "2048-fp32-dim-major"),
    conv_case((8, 1536, 2048), torch.bfloat16, True, 1, "2048-bf16-channel-last"),
    conv_case((2, 3000, 8191), torch.float32, True, 2, "8191-fp32-channel-last"),
    conv_case((2, 3000, 8191), torch.bfloat16, False, 3, "8191-bf16-dim-major")]


@pytest.mark.gpu
@pytest.mark.parametrize("shape, dtype, channel_last", CONV_GPU_CASES)
def test_conv_gpu(shape: tuple[int, int, int], dtype: torch.dtype, channel_last: bool) -> None:
    batch, dim, length = shape
    check_conv("cuda", dtype, batch, dim, length, width=4, bias=True, activation="silu",
               initial_state=True, final_state=True, channel_last=channel_last)


def check_packed_conv(device: str, dtype: torch.dtype, lengths: list[int], dim: int, width: int,
                      channel_last: bool = False) -> None:
    """A packed row through the Triton conv against every sequence alone through the float64
    reference: y, per-sequence final windows, and the gradients of x, weight and bias."""
    from mambaseq.kernels.triton_conv import causal_conv1d_triton
    total = sum(lengths)
    x = (torch.randn(1, total, dim, device=device, dtype=dtype).transpose(1, 2) if channel_last
         else torch.randn(1, dim, total, device=device, dtype=dtype))
    args = dict(x=x, weight=torch.randn(dim, width, device=device, dtype=dtype) / width,
                bias=torch.randn(dim, device=device, dtype=dtype))
    cu = cu_seqlens_from_lengths(lengths)
    cot = (torch.randn(1, dim, total, device=device, dtype=torch.float64),
           torch.randn(len(lengths), dim, width - 1, device=device, dtype=torch.float64))
    packed = run_packed(causal_conv1d_triton, args, cu.to(device), cot, activation="silu")
    alone = run_alone(causal_conv1d_ref, args, cu, cot, dtype=torch.float64, activation="silu")
    for name in packed:
        assert_close(name, packed[name], alone[name], TOL[dtype])
        assert packed[name].dtype == dtype, name


@interpreted
@pytest.mark.parametrize("lengths, width, dtype", [
    (LENGTHS, 4, torch.float32), ([1, 50, 1, 1, 3], 3, torch.bfloat16), ([1] * 9, 4, torch.float32)])
def test_packed_conv_equals_each_alone_interpreted(lengths, width, dtype) -> None:
    check_packed_conv("cpu", dtype, lengths, 20, width)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [
    pytest.param(torch.float32, id="fp32", marks=pytest.mark.autotune_config(1)),
    pytest.param(torch.bfloat16, id="bf16", marks=pytest.mark.autotune_config(2))])
def test_packed_conv_equals_each_alone_gpu(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(3)
    lengths = [1, 2, 1] + torch.randint(1, 3000, (9,), generator=g).tolist()
    check_packed_conv("cuda", dtype, lengths, 1536, 4, channel_last=True)


def check_conv_update(device: str, dtype: torch.dtype, state_dtype: torch.dtype, batch: int,
                      dim: int, width: int, bias: bool, activation: str | None) -> None:
    from mambaseq.kernels.triton_conv import causal_conv1d_update_triton
    x = torch.randn(batch, dim, device=device, dtype=dtype)
    state = torch.randn(batch, dim, width - 1, device=device, dtype=state_dtype)
    weight = torch.randn(dim, width, device=device, dtype=dtype)
    b = torch.randn(dim, device=device, dtype=dtype) if bias else None
    state_ref = state.double()
    y_ref = causal_conv1d_update_ref(x.double(), state_ref, weight.double(),
                                     None if b is None else b.double(), activation)
    y = causal_conv1d_update_triton(x, state, weight, b, activation)
    assert y.dtype == dtype and state.dtype == state_dtype
    assert_close("y", y, y_ref, TOL[dtype])
    assert_close("conv_state", state, state_ref, TOL[dtype])


@interpreted
@pytest.mark.parametrize("dtype, state_dtype, width, bias, activation", [
    (torch.float32, torch.float32, 4, True, "silu"),
    (torch.bfloat16, torch.float32, 3, False, None),
    (torch.bfloat16, torch.bfloat16, 2, True, "silu"),
])
def test_conv_update_interpreted(dtype, state_dtype, width, bias, activation) -> None:
    check_conv_update("cpu", dtype, state_dtype, 3, 20, width, bias, activation)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_conv_update_gpu(dtype: torch.dtype) -> None:
    check_conv_update("cuda", dtype, dtype, 8, 3072, 4, True, "silu")


@interpreted
def test_conv_chunks_and_steps_continue_one_call() -> None:
    """Chunk + final_state -> next chunk's initial_state -> update steps gives one call's y."""
    from mambaseq.kernels.triton_conv import causal_conv1d_triton, causal_conv1d_update_triton
    x, weight, bias = torch.randn(2, 12, 30), torch.randn(12, 4), torch.randn(12)
    whole = causal_conv1d_triton(x, weight, bias, "silu")
    y1, state = causal_conv1d_triton(x[..., :11], weight, bias, "silu", return_final_state=True)
    y2, state = causal_conv1d_triton(x[..., 11:25], weight, bias, "silu", state, True)
    steps = [causal_conv1d_update_triton(x[..., t], state, weight, bias, "silu")
             for t in range(25, 30)]
    assert_close("chunked", torch.cat([y1, y2, torch.stack(steps, -1)], -1), whole, 1e-6)


# ---------------------------------------------------------------- selective state update

def check_step(device: str, dtype: torch.dtype, batch: int, dim: int, nstate: int,
               groups: int | None, extras: bool, rank: int | None = None,
               state_dtype: torch.dtype = torch.float32) -> None:
    """groups None: B, C (batch, N); else (batch, groups, N). extras: D, z, delta_bias and
    softplus on. rank: Δ given as its low-rank code (batch, rank), a column slice of a wider
    matrix as in the step, and its projection (dim, rank), multiplied in the kernel.
    state_dtype bfloat16: y from the float32 h, the stored state within bf16's rounding."""
    from mambaseq.kernels.triton_step import selective_state_update_triton

    def rand(*shape, dt=dtype):
        return torch.randn(*shape, device=device, dtype=dt)
    bc_shape = (batch, nstate) if groups is None else (batch, groups, nstate)
    if rank is None:
        delta = dict(delta=rand(batch, dim).abs() * 0.5)
    else:
        delta = dict(delta=rand(batch, rank + 7)[:, :rank],
                     dt_weight=rand(dim, rank) * 0.5 / rank ** 0.5)
    args = dict(x=rand(batch, dim), **delta,
                A=-torch.rand(dim, nstate, device=device) - 0.1, B=rand(*bc_shape),
                C=rand(*bc_shape), D=rand(dim, dt=torch.float32) if extras else None,
                z=rand(batch, dim) if extras else None,
                delta_bias=rand(dim, dt=torch.float32) if extras else None,
                delta_softplus=extras)
    state = rand(batch, dim, nstate, dt=state_dtype)
    state_ref = state.double()
    y_ref = selective_state_update_ref(state_ref, **{
        k: v.double() if isinstance(v, torch.Tensor) else v for k, v in args.items()})
    y = selective_state_update_triton(state, **args)
    assert y.dtype == dtype and state.dtype == state_dtype
    assert_close("y", y, y_ref, TOL[dtype])
    assert_close("state", state, state_ref, TOL[state_dtype])


STEP_CASES = {
    "fp32-all-options": dict(dtype=torch.float32, batch=3, dim=20, nstate=12, groups=None,
                             extras=True),
    "fp32-bare": dict(dtype=torch.float32, batch=2, dim=7, nstate=5, groups=None, extras=False),
    "bf16-groups3": dict(dtype=torch.bfloat16, batch=2, dim=24, nstate=16, groups=3,
                         extras=True),
    "fp32-groups1-bare": dict(dtype=torch.float32, batch=1, dim=18, nstate=16, groups=1,
                              extras=False),
    "fp32-code-two-row-blocks": dict(dtype=torch.float32, batch=17, dim=20, nstate=12,
                                     groups=None, extras=True, rank=5),
    "bf16-code-groups2": dict(dtype=torch.bfloat16, batch=3, dim=24, nstate=16, groups=2,
                              extras=True, rank=40),
    "fp32-code-bare": dict(dtype=torch.float32, batch=2, dim=7, nstate=5, groups=None,
                           extras=False, rank=16),
    "fp32-code-over-fused-rows": dict(dtype=torch.float32, batch=34, dim=20, nstate=8,
                                      groups=None, extras=True, rank=5),
    "bf16-state-fp32": dict(dtype=torch.float32, batch=2, dim=20, nstate=12, groups=None,
                            extras=True, state_dtype=torch.bfloat16),
    "bf16-state-code": dict(dtype=torch.bfloat16, batch=3, dim=24, nstate=16, groups=None,
                            extras=True, rank=40, state_dtype=torch.bfloat16),
}


@interpreted
@pytest.mark.parametrize("case", STEP_CASES)
def test_step_interpreted(case: str) -> None:
    check_step("cpu", **STEP_CASES[case])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("groups", [None, 4], ids=["no-groups", "groups4"])
def test_step_gpu(dtype: torch.dtype, groups: int | None) -> None:
    check_step("cuda", dtype, 8, 3072, 16, groups, extras=True)


@pytest.mark.gpu
@pytest.mark.autotune_config(1)   # 40 rows of float32 go through triton_linear's product, and a
# pinned config is not pruned: 64 x 256 float32 tiles of config 0 overflow shared memory
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("batch", [1, 20, 40])
def test_step_from_code_gpu(dtype: torch.dtype, batch: int) -> None:
    """Δ from its code: rank 96 (two BLOCK_R passes, the second partial); 1 and 20 rows in
    the state kernel (20: two row blocks, the second partial), 40 rows (over FUSED_MAX_ROWS)
    through triton_linear's product first."""
    check_step("cuda", dtype, batch, 4096, 16, None, extras=True, rank=96)


@pytest.mark.gpu
@pytest.mark.autotune_config(1)
@pytest.mark.parametrize("batch", [20, 64])
def test_step_bf16_state_gpu(batch: int) -> None:
    """A bfloat16 state, as the 1.4B LM decodes with ``state_dtype=torch.bfloat16``: 20 rows
    through the fused kernel, 64 through triton_linear's product and the one-row kernel."""
    check_step("cuda", torch.bfloat16, batch, 4096, 16, None, extras=True, rank=128,
               state_dtype=torch.bfloat16)


# ---------------------------------------------------------------- decode-step linear layers

def check_decode_linear(device: str, dtype: torch.dtype, rows: int, depth: int, cols: int,
                        bias: bool, out_dtype: torch.dtype | None = None,
                        row_stride: int | None = None, split: bool = False) -> None:
    """x (rows, depth) @ weight^T + bias against float64; ``row_stride`` > depth makes x a
    column slice of a wider matrix (as the step's Δ code is a slice of x_proj's output).
    ``split``: the split-depth kernel, whose second run must give the same bits."""
    from mambaseq.kernels.triton_linear import decode_linear_split_triton, decode_linear_triton
    product = decode_linear_split_triton if split else decode_linear_triton
    x = torch.randn(rows, row_stride or depth, device=device, dtype=dtype)[:, :depth]
    weight = torch.randn(cols, depth, device=device, dtype=dtype) / depth ** 0.5
    b = torch.randn(cols, device=device, dtype=dtype) if bias else None
    y = product(x, weight, b, out_dtype)
    want = torch.nn.functional.linear(x.double(), weight.double(),
                                      None if b is None else b.double())
    assert y.dtype == (out_dtype or dtype)
    # a float32 result of 16-bit inputs is exact but for the summation order
    tol = {torch.float64: 1e-12}.get(y.dtype, TOL.get(y.dtype))
    assert_close("y", y, want, tol)
    if split:
        assert torch.equal(product(x, weight, b, out_dtype), y)


LINEAR_CASES = {
    "fp64-bias": dict(dtype=torch.float64, rows=3, depth=70, cols=50, bias=True),
    "fp64-rows-over-one-block": dict(dtype=torch.float64, rows=130, depth=33, cols=17,
                                     bias=False),
    "fp32-ieee": dict(dtype=torch.float32, rows=1, depth=64, cols=40, bias=True),
    "bf16-to-fp32-sliced": dict(dtype=torch.bfloat16, rows=5, depth=24, cols=48, bias=False,
                                out_dtype=torch.float32, row_stride=40),
    "bf16": dict(dtype=torch.bfloat16, rows=17, depth=96, cols=36, bias=True),
    # split in depth: slices of 64 (the last partial), two column tiles (the second partial)
    "split-fp64-bias": dict(dtype=torch.float64, rows=3, depth=200, cols=40, bias=True,
                            split=True),
    "split-fp64-rows-over-one-block": dict(dtype=torch.float64, rows=130, depth=130, cols=9,
                                           bias=False, split=True),
    "split-bf16-to-fp32-sliced": dict(dtype=torch.bfloat16, rows=5, depth=150, cols=33,
                                      bias=False, out_dtype=torch.float32, row_stride=160,
                                      split=True),
    "split-bf16": dict(dtype=torch.bfloat16, rows=2, depth=96, cols=20, bias=True, split=True),
}


@interpreted
@pytest.mark.parametrize("case", LINEAR_CASES)
def test_decode_linear_interpreted(case: str) -> None:
    check_decode_linear("cpu", **LINEAR_CASES[case])


@pytest.mark.skipif(INTERPRETED, reason="the interpreter has one config")
def test_decode_linear_tuner_keeps_the_configs_that_fit_shared_memory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from mambaseq.kernels import triton_linear
    configs = triton_linear._configs()
    x = torch.empty(128, 8, dtype=torch.bfloat16)
    props = SimpleNamespace(shared_memory_per_block_optin=232448)     # an H100's 227 KiB
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: props)

    def kept(rows: int) -> set[tuple[int, int, int]]:
        return {(c.kwargs["BLOCK_N"], c.kwargs["BLOCK_K"], c.num_stages)
                for c in triton_linear._fitting(configs, {"x_ptr": x}, BLOCK_M=rows)}
    # 128 rows: 3 x (128 + 32) x 256 x 2 bytes = 240 KiB, 4 x (128 + 16) x 256 x 2 = 288 KiB
    assert kept(128) == {(32, 128, 4), (64, 128, 4), (64, 64, 5), (128, 64, 4)}
    assert len(kept(16)) == len(configs)
    props.shared_memory_per_block_optin = 1024                 # none fits: the smallest one
    assert kept(16) == {(32, 128, 4)}


LINEAR_GPU_SHAPES = {       # the 1.4B LM's step (d_model 2048, d_inner 4096, rank 128)
    "in_proj-64": dict(dtype=torch.bfloat16, rows=64, depth=2048, cols=8192, bias=False),
    "out_proj-1-bias": dict(dtype=torch.bfloat16, rows=1, depth=4096, cols=2048, bias=True),
    "delta-128-fp32-out": dict(dtype=torch.bfloat16, rows=128, depth=128, cols=4096,
                               bias=False, out_dtype=torch.float32, row_stride=160),
    "x_proj-37-fp32": dict(dtype=torch.float32, rows=37, depth=4096, cols=160, bias=False),
}


@pytest.mark.gpu
@pytest.mark.parametrize("rows", [1, 64])
@pytest.mark.parametrize("size", ["1.4B", "130M"])
def test_decode_linear_split_gpu(rows: int, size: str) -> None:
    """The split-depth product at the LMs' x_proj shapes (4096 -> 160, 1536 -> 80), bf16."""
    depth, cols = {"1.4B": (4096, 160), "130M": (1536, 80)}[size]
    check_decode_linear("cuda", torch.bfloat16, rows, depth, cols, bias=False, split=True)


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [    # each of the six autotune configs, on a shape it fits
    pytest.param(name, id=f"{name}-config{config}",          # (a pinned config is not pruned)
                 marks=pytest.mark.autotune_config(config))
    for config, name in enumerate(["in_proj-64", "x_proj-37-fp32", "out_proj-1-bias",
                                   "delta-128-fp32-out", "x_proj-37-fp32",
                                   "delta-128-fp32-out"])])
def test_decode_linear_gpu(shape: str) -> None:
    check_decode_linear("cuda", **LINEAR_GPU_SHAPES[shape])


# ---------------------------------------------------------------- (add +) RMSNorm

def rms_norm_f64(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """RMSNorm entirely in float64 (the reference rounds through float32 internally)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def add_rms_norm_f64(x: torch.Tensor, residual: torch.Tensor | None, weight: torch.Tensor,
                     eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    new_residual = x if residual is None else residual + x
    return rms_norm_f64(new_residual, weight, eps), new_residual


def check_norm(device: str, dtype: torch.dtype, shape: tuple[int, ...], fused: bool,
               residual: bool) -> None:
    from mambaseq.kernels.triton_norm import add_rms_norm_triton, rms_norm_triton
    x = torch.randn(shape, device=device, dtype=dtype)
    weight = torch.rand(shape[-1], device=device) + 0.5
    if fused:
        args = dict(x=x, weight=weight,
                    residual=torch.randn(shape, device=device) if residual else None)
        out = check_against_float64(add_rms_norm_triton, add_rms_norm_f64, args, TOL[dtype])
        assert out[0].dtype == dtype and out[1].dtype == torch.float32
    else:
        out = check_against_float64(rms_norm_triton, rms_norm_f64, dict(x=x, weight=weight),
                                    TOL[dtype])
        assert out[0].dtype == dtype


NORM_CASES = {
    "add-fp32": dict(dtype=torch.float32, shape=(2, 13, 40), fused=True, residual=True),
    "add-fp32-no-residual": dict(dtype=torch.float32, shape=(5, 100), fused=True,
                                 residual=False),
    "add-bf16-one-row": dict(dtype=torch.bfloat16, shape=(1, 1, 72), fused=True, residual=True),
    "add-bf16-many-rows": dict(dtype=torch.bfloat16, shape=(3, 23, 24), fused=True,
                               residual=True),
    "rms-fp32": dict(dtype=torch.float32, shape=(3, 7, 100), fused=False, residual=False),
    "rms-bf16": dict(dtype=torch.bfloat16, shape=(1, 40), fused=False, residual=False),
}


@interpreted
@pytest.mark.parametrize("case", NORM_CASES)
def test_norm_interpreted(case: str) -> None:
    check_norm("cpu", **NORM_CASES[case])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("fused", [True, False], ids=["add-rms", "rms"])
def test_norm_gpu(dtype: torch.dtype, fused: bool) -> None:
    check_norm("cuda", dtype, (8, 2048, 1536), fused, residual=True)


# ---------------------------------------------------------------- dispatch

TRITON_MODULES = {"causal_conv1d": "mambaseq.kernels.triton_conv",
                  "causal_conv1d_update": "mambaseq.kernels.triton_conv",
                  "selective_state_update": "mambaseq.kernels.triton_step",
                  "decode_linear": "mambaseq.kernels.triton_linear",
                  "rms_norm": "mambaseq.kernels.triton_norm",
                  "add_rms_norm": "mambaseq.kernels.triton_norm"}


def test_pdl_launch_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from mambaseq.kernels.triton_pdl import pdl_launch
    cpu = torch.zeros(1)
    assert not pdl_launch(cpu)                  # only CUDA tensors
    monkeypatch.setenv("MAMBASEQ_PDL", "0")
    assert not pdl_launch(cpu)
    monkeypatch.setenv("MAMBASEQ_PDL", "yes")
    with pytest.raises(ValueError, match="MAMBASEQ_PDL='yes'"):
        pdl_launch(cpu)


def test_pdl_options_trigger_from_min_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off without PDL; with it, wait only below TRIGGER_MIN_ROWS rows, wait and trigger the
    next launch from there."""
    from mambaseq.kernels import triton_pdl
    rows = triton_pdl.TRIGGER_MIN_ROWS
    assert triton_pdl.pdl_options(torch.zeros(rows, 3)) == {"PDL": 0, "launch_pdl": False}
    monkeypatch.setattr(triton_pdl, "pdl_launch", lambda t: True)
    assert triton_pdl.pdl_options(torch.zeros(rows - 1, 3)) == {"PDL": 1, "launch_pdl": True}
    assert triton_pdl.pdl_options(torch.zeros(rows, 3)) == {"PDL": 2, "launch_pdl": True}


@interpreted
@pytest.mark.parametrize("choice, expected", [("triton", "triton"), ("reference", "reference"),
                                              ("auto", "reference")])
def test_ops_dispatch_on_env(choice: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """MAMBASEQ_KERNELS picks the implementation every op in ``kernels.ops`` calls (auto on
    CPU tensors: the reference)."""
    monkeypatch.setenv("MAMBASEQ_KERNELS", choice)
    marker = object()
    for name, module in TRITON_MODULES.items():
        owner = importlib.import_module(module) if expected == "triton" else ops
        suffix = "triton" if expected == "triton" else "ref"
        monkeypatch.setattr(owner, f"{name}_{suffix}", lambda *args, **kwargs: marker)
    x, w = torch.randn(2, 6, 5), torch.randn(6, 4)
    results = {
        "causal_conv1d": ops.causal_conv1d(x, w),
        "causal_conv1d_update": ops.causal_conv1d_update(x[..., 0], torch.randn(2, 6, 3), w),
        "selective_state_update": ops.selective_state_update(
            torch.randn(2, 6, 3), x[..., 0], x[..., 1], -torch.rand(6, 3), torch.randn(2, 3),
            torch.randn(2, 3)),
        "decode_linear": ops.decode_linear(x[..., 0], torch.randn(3, 6)),
        "rms_norm": ops.rms_norm(x, torch.ones(5)),
        "add_rms_norm": ops.add_rms_norm(x, None, torch.ones(5)),
    }
    for name, result in results.items():
        assert result is marker, f"{name} with MAMBASEQ_KERNELS={choice} did not run {expected}"


# ---------------------------------------------------------------- the interpreter run

@pytest.mark.skipif(INTERPRETED, reason="this is the interpreter run itself")
def test_kernels_under_triton_interpreter() -> None:
    """Runs this file's ``*_interpreted`` cases in a fresh process under TRITON_INTERPRET=1."""
    env = dict(os.environ, TRITON_INTERPRET="1", MAMBASEQ_KERNELS="triton",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-m", "not gpu", "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-4000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout, proc.stdout[-4000:]


@pytest.mark.gpu
@pytest.mark.autotune
def test_conv_autotunes_once_per_power_of_two_of_length(monkeypatch: pytest.MonkeyPatch) -> None:
    # variable-length batches change the length every step; re-tuning each time cost seconds.
    # Each length is a new tensor, as a model's in_proj output is, so the channel stride
    # changes with the length too (the keys once held it, and the forward re-tuned every step).
    # The tuner's timing is replaced (tests never time anything): every config "takes" 1 ms,
    # so the first wins without the others being compiled. The first "2048-fp32-dim-major"
    # row's kernels (config 0, same flags, dtype and 16-divisible strides): nothing new compiles.
    from mambaseq.kernels import triton_conv
    kernels = (triton_conv._conv_fwd_kernel, triton_conv._conv_bwd_weight_kernel,
               triton_conv._conv_bwd_input_kernel)
    for kernel in kernels:
        monkeypatch.setattr(kernel, "do_bench", lambda fn, quantiles: [1.0, 1.0, 1.0])
    weight = torch.randn(256, 4, device="cuda", requires_grad=True)
    bias = torch.randn(256, device="cuda", requires_grad=True)
    init = torch.randn(1, 256, 3, device="cuda", requires_grad=True)
    before = [len(kernel.cache) for kernel in kernels]
    for length in (4112, 6000, 7776, 8192):         # one power of two: one tuning key
        x = torch.randn(1, 256, length, device="cuda", requires_grad=True)
        y = triton_conv.causal_conv1d_triton(x, weight, bias, "silu", init)
        y.backward(torch.randn_like(y))
    grown = [len(kernel.cache) - n for kernel, n in zip(kernels, before)]
    assert grown == [1, 1, 1], f"tuning runs (forward, backward's two): {grown}"
