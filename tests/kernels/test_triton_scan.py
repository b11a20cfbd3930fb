"""Fused Triton selective scan against the float64 reference: output, final state and the
gradient of every input, relative error max|a-b| / max|b| per tensor (1e-4 for float32 inputs,
1e-2 for 16-bit ones).

On the CPU the kernels run under Triton's interpreter, which must be switched on before triton
is imported; ``test_scan_under_triton_interpreter`` therefore runs this file again in a
subprocess with ``TRITON_INTERPRET=1 MAMBASEQ_KERNELS=triton``, where the small
``*_interpreted`` cases execute (in the parent process they are skipped). The ``gpu`` cases run
the same checks at real sizes on CUDA.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mambaseq.kernels import ops
from mambaseq.kernels.scan_reference import selective_scan_ref

from .packed_cases import LENGTHS, packed_inputs, run_alone, run_packed

ROOT = Path(__file__).resolve().parents[2]
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
TOL = {torch.float32: 1e-4, torch.bfloat16: 1e-2, torch.float16: 1e-2}
interpreted = pytest.mark.interpreted       # run by the subprocess test below (conftest)
ARG_NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias", "initial_state")


def rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    """max|got - want| / max|want| in float64; the absolute error when want is all zeros."""
    diff = (got.double() - want.double()).abs().max().item()
    scale = want.double().abs().max().item()
    return diff / scale if scale > 0 else diff


def make_inputs(batch: int, dim: int, length: int, state: int, dtype: torch.dtype,
                device: str, groups: int | None = None, with_z: bool = True,
                with_D: bool = True, with_bias: bool = True, with_h0: bool = True,
                softplus: bool = True, delta_dtype: torch.dtype | None = None) -> dict:
    """Random inputs of a Mamba layer's scan (A negative, delta positive after softplus);
    delta in ``delta_dtype`` (default ``dtype``)."""
    def rnd(*shape, scale=1.0, dt=dtype):
        return (torch.randn(*shape, device=device) * scale).to(dt)
    bc_shape = (batch, state, length) if groups is None else (batch, groups, state, length)
    delta_dtype = delta_dtype or dtype
    args = dict(
        u=rnd(batch, dim, length),
        delta=(rnd(batch, dim, length, scale=0.5, dt=delta_dtype) if softplus
               else (torch.rand(batch, dim, length, device=device) * 0.2).to(delta_dtype)),
        A=-torch.exp(rnd(dim, state, scale=0.5, dt=torch.float32)),
        B=rnd(*bc_shape), C=rnd(*bc_shape),
        D=rnd(dim, dt=torch.float32) if with_D else None,
        z=rnd(batch, dim, length) if with_z else None,
        delta_bias=(rnd(dim, scale=0.5, dt=torch.float32) if softplus
                    else torch.rand(dim, device=device) * 0.1) if with_bias else None,
        initial_state=rnd(batch, dim, state, dt=torch.float32) if with_h0 else None,
    )
    return args


def as_layout(t: torch.Tensor, layout: str) -> torch.Tensor:
    """t (batch, dim, length), same values, in other memory: "rows" the channel rows of a
    twice wider channel-major tensor (as the halves of a Mamba block's in_proj output),
    "channels-last" a transposed view of (batch, length, dim) memory; "contiguous" as is."""
    if layout == "rows":
        return torch.cat([t, torch.zeros_like(t)], dim=1)[:, :t.shape[1]]
    if layout == "channels-last":
        return t.transpose(1, 2).contiguous().transpose(1, 2)
    return t


def check_scan(args: dict, softplus: bool, tol: float, layout: str = "contiguous",
               grad_layout: str = "contiguous", scan=ops.selective_scan, **kwargs) -> None:
    """``scan`` (default ops.selective_scan, Triton) vs the float64 reference: y, final state,
    every gradient. ``layout``: the memory of u, delta and z; ``grad_layout``: that of the
    output's gradient (see ``as_layout``)."""
    ours = {k: (as_layout(v.detach(), layout) if k in ("u", "delta", "z") else
                v.detach().clone()).requires_grad_() if v is not None else None
            for k, v in args.items()}
    ref = {k: v.detach().double().requires_grad_() if v is not None else None
           for k, v in args.items()}
    y, h = scan(**ours, delta_softplus=softplus, return_final_state=True, **kwargs)
    y_ref, h_ref = selective_scan_ref(**ref, delta_softplus=softplus, return_final_state=True)
    assert y.dtype == args["u"].dtype and h.dtype == torch.float32
    errors = {"y": rel_err(y, y_ref), "final_state": rel_err(h, h_ref)}
    gy, gh = torch.randn_like(y_ref), torch.randn_like(h_ref)
    torch.autograd.backward([y, h], [as_layout(gy.to(y.dtype), grad_layout), gh.float()])
    torch.autograd.backward([y_ref, h_ref], [gy, gh])
    for name in ARG_NAMES:
        if ours[name] is not None:
            assert ours[name].grad is not None, f"no gradient for {name}"
            assert ours[name].grad.shape == ours[name].shape
            assert ours[name].grad.dtype == ours[name].dtype
            errors[f"d{name}"] = rel_err(ours[name].grad, ref[name].grad)
    bad = {k: f"{v:.2e}" for k, v in errors.items() if not v <= tol}
    assert not bad, f"relative errors above {tol:.0e}: {bad}"


def check_forward_without_graph(args: dict, softplus: bool, tol: float, scan) -> None:
    """``scan``'s y and final state under ``torch.no_grad`` (no input needs a gradient: the
    block layout then launches its forward without autograd and saves no chunk states) vs
    the float64 reference."""
    with torch.no_grad():
        y, h = scan(**args, delta_softplus=softplus, return_final_state=True)
    y_ref, h_ref = selective_scan_ref(**{k: v.double() if v is not None else None
                                         for k, v in args.items()},
                                      delta_softplus=softplus, return_final_state=True)
    assert y.dtype == args["u"].dtype and y.grad_fn is None
    errors = {"y": rel_err(y, y_ref), "final_state": rel_err(h, h_ref)}
    bad = {k: f"{v:.2e}" for k, v in errors.items() if not v <= tol}
    assert not bad, f"relative errors above {tol:.0e}: {bad}"


# ---------------------------------------------------------------- CPU: Triton interpreter

# (batch, dim, length, state, groups, z, D, bias, h0, softplus, fwd/bwd chunks)
INTERPRETED_CASES = [
    (2, 40, 37, 4, None, True, True, True, True, True, (3, 2)),      # chunks, dims not pow2
    (1, 33, 1, 16, None, True, True, True, True, True, (0, 0)),      # length 1, split states
    (1, 33, 29, 16, None, False, False, False, False, True, (2, 3)),  # bare scan
    (2, 64, 21, 5, 2, True, False, True, False, False, (1, 1)),       # groups, no softplus
    (1, 32, 19, 12, None, False, True, False, True, True, (4, 1)),    # state 12: split, masked
]


# every case in float32, the first one also in the 16-bit dtypes (the interpreter is slow)
INTERPRETED_PARAMS = ([(c, torch.float32) for c in INTERPRETED_CASES]
                      + [(INTERPRETED_CASES[0], t) for t in (torch.bfloat16, torch.float16)])


@interpreted
@pytest.mark.parametrize("case, dtype", INTERPRETED_PARAMS,
                         ids=lambda p: str(p).replace("torch.", "") if isinstance(p, torch.dtype)
                         else "b{}d{}l{}n{}g{}".format(*p))
def test_scan_matches_float64_interpreted(case, dtype):
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    batch, dim, length, state, groups, z, D, bias, h0, softplus, (fc, bc) = case
    args = make_inputs(batch, dim, length, state, dtype, "cpu", groups, z, D, bias, h0, softplus)
    check_scan(args, softplus, TOL[dtype])
    # the forward through an explicit tiling (other chunk counts along the length)
    cfg = ScanConfig(fwd_chunks=fc, bwd_chunks=bc)
    y = selective_scan_triton(**args, delta_softplus=softplus, config=cfg)
    y_ref = selective_scan_ref(**{k: v.double() if v is not None else None
                                  for k, v in args.items()}, delta_softplus=softplus)
    assert rel_err(y, y_ref) <= TOL[dtype]


# the block layout (kernels/triton_block_scan.py) over the same cases, in chunks of 16 steps
# (several to a length, the last partial) or 32 (one, partial; the length-1 case), and the
# first case also in bf16
BLOCK_PARAMS = ([(c, torch.float32) for c in INTERPRETED_CASES]
                + [(INTERPRETED_CASES[0], torch.bfloat16)])


@interpreted
@pytest.mark.parametrize("case, dtype", BLOCK_PARAMS,
                         ids=lambda p: str(p).replace("torch.", "") if isinstance(p, torch.dtype)
                         else "b{}d{}l{}n{}g{}".format(*p))
def test_block_scan_matches_float64_interpreted(case, dtype):
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    batch, dim, length, state, groups, z, D, bias, h0, softplus, _ = case
    args = make_inputs(batch, dim, length, state, dtype, "cpu", groups, z, D, bias, h0, softplus)
    config = ScanConfig(layout="block", block_l=16 if length > 16 else 32)
    scan = partial(selective_scan_triton, config=config)
    check_scan(args, softplus, TOL[dtype], scan=scan)
    if case is INTERPRETED_CASES[0]:    # every flag on, several chunks, the last partial
        check_forward_without_graph(args, softplus, TOL[dtype], scan)


@interpreted
def test_block_scan_reads_strided_memory_interpreted():
    """The block layout on the mixer's memory: u, delta, z channel rows of a wider tensor,
    the output's gradient channels-last (copied to adjacent steps); with register caps,
    which pass the checks and which the interpreter, having no registers, leaves out."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(2, 24, 40, 4, torch.float32, "cpu")
    check_scan(args, True, TOL[torch.float32], layout="rows", grad_layout="channels-last",
               scan=partial(selective_scan_triton, config=ScanConfig(
                   layout="block", block_l=16, fwd_max_regs=96, bwd_max_regs=168)))


@interpreted
@pytest.mark.parametrize("dtype, block_l, vec", [(torch.bfloat16, 256, 8),
                                                 (torch.float32, 256, 4),
                                                 (torch.bfloat16, 64, 2)])
def test_block_scan_rows_of_adjacent_steps_interpreted(dtype, block_l, vec):
    """The block kernels cut a chunk into rows of the VEC adjacent steps a thread holds (for
    the carries between chunks): chunks of one warp where VEC is 8, 4 and 2, several of them
    and the last one partial, against float64."""
    from functools import partial
    import triton.language as tl
    from mambaseq.kernels.triton_block_scan import _row_steps
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    assert _row_steps(block_l, 1, {torch.bfloat16: tl.bfloat16,
                                   torch.float32: tl.float32}[dtype]) == vec
    args = make_inputs(1, 3, 2 * block_l + 37, 4, dtype, "cpu", groups=1)
    check_scan(args, True, TOL[dtype], scan=partial(selective_scan_triton, config=ScanConfig(
        layout="block", block_l=block_l)))


@interpreted
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_block_scan_whole_chunks_interpreted(dtype):
    """A length of whole chunks, where the block kernels mask no step (EVEN_L): three chunks
    of 16 steps, every flag on, against float64."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(2, 40, 48, 4, dtype, "cpu", None, True, True, True, True, True)
    check_scan(args, True, TOL[dtype], scan=partial(selective_scan_triton, config=ScanConfig(
        layout="block", block_l=16)))


@interpreted
@pytest.mark.parametrize("max_bytes", [0, 1 << 20])
def test_block_scan_parameter_gradients_hold_no_large_sums_interpreted(monkeypatch, max_bytes):
    """A's, D's, the Δ bias's and the initial state's gradients are views the backward returns,
    which a parameter's ``.grad`` keeps. With 16-bit B and C (their gradients converted
    copies) those views hold the float32 sums of dB and dC only where these are at most
    SHARED_SUMS_MAX_BYTES (one buffer, one fill); larger sums are freed with the backward."""
    from mambaseq.kernels import triton_block_scan
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    monkeypatch.setattr(triton_block_scan, "SHARED_SUMS_MAX_BYTES", max_bytes)
    batch, dim, length, state = 1, 8, 64, 4
    args = make_inputs(batch, dim, length, state, torch.bfloat16, "cpu")
    for value in args.values():
        value.requires_grad_()
    y = selective_scan_triton(**args, delta_softplus=True,
                              config=ScanConfig(layout="block", block_l=16))
    y.float().sum().backward()
    sums_bytes = 2 * batch * state * length * 4
    held = {name: args[name].grad.untyped_storage().nbytes()
            for name in ("A", "D", "delta_bias", "initial_state")}
    if max_bytes < sums_bytes:
        assert all(nbytes < sums_bytes for nbytes in held.values()), (held, sums_bytes)
    else:
        assert all(nbytes > sums_bytes for nbytes in held.values()), (held, sums_bytes)
    assert args["B"].grad.dtype == torch.bfloat16


@interpreted
def test_block_scan_second_backward_gets_fresh_gradients_interpreted():
    """A second backward through the same graph (retain_graph) adds into freshly zeroed sums
    and writes new gradient tensors: the same gradients twice, the first pass's left as they
    were."""
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(1, 8, 40, 4, torch.float32, "cpu", None, True, True, True, True, True)
    for value in args.values():
        value.requires_grad_()
    y = selective_scan_triton(**args, delta_softplus=True,
                              config=ScanConfig(layout="block", block_l=16))
    dy = torch.randn_like(y)
    grads = []
    for retain in (True, False):
        y.backward(dy, retain_graph=retain)
        grads.append({name: value.grad for name, value in args.items()})
        for value in args.values():
            value.grad = None
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-6, atol=1e-6, msg=name)
        assert (grads[1][name].untyped_storage().data_ptr()
                != grad.untyped_storage().data_ptr()), name


@interpreted
def test_block_scan_sums_zeroed_by_the_forward_interpreted(monkeypatch):
    """Small backward sums are allocated by the forward and zeroed by its kernel: a buffer
    full of NaN before that launch gives the gradients of sums the backward fills itself."""
    from mambaseq.kernels import triton_block_scan
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(2, 8, 40, 4, torch.float32, "cpu", None, True, True, True, True, True)
    real, poisoned = triton_block_scan._early_sums, []

    def poison(*given):
        buffer = real(*given)
        poisoned.append(buffer is not None)
        return buffer.fill_(float("nan")) if buffer is not None else None
    monkeypatch.setattr(triton_block_scan, "_early_sums", poison)
    grads = []
    for early in (1 << 20, 0):
        monkeypatch.setattr(triton_block_scan, "EARLY_SUMS_MAX_BYTES", early)
        leaves = {name: value.detach().clone().requires_grad_()
                  for name, value in args.items()}
        y = selective_scan_triton(**leaves, delta_softplus=True,
                                  config=ScanConfig(layout="block", block_l=16))
        y.backward(torch.ones_like(y))
        grads.append({name: value.grad for name, value in leaves.items()})
    assert poisoned == [True, False]
    for name, grad in grads[1].items():
        torch.testing.assert_close(grads[0][name], grad, rtol=1e-6, atol=1e-6, msg=name)


# (batch, dim, length, state, dtype, fwd/bwd chunks, tiles per saved state): groups whole and
# partial, several to a chunk and one chunk, split and unsplit states, 4- and 8-step tiles
SPARSE_STATES_INTERPRETED = [
    (2, 40, 61, 16, torch.float32, (3, 2), 3),
    (1, 33, 61, 4, torch.float32, (1, 1), 8),
    (1, 33, 70, 12, torch.bfloat16, (0, 3), 2),
]


@interpreted
@pytest.mark.parametrize("case", SPARSE_STATES_INTERPRETED,
                         ids=lambda c: "b{}d{}l{}n{}-{}-every{}".format(*c[:4], str(c[4])[6:],
                                                                        c[6]))
def test_scan_with_sparse_saved_states_interpreted(case):
    """States saved every few tiles, the others recomputed in the backward: the same output,
    final state and gradients as the float64 reference."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    batch, dim, length, state, dtype, (fc, bc), every = case
    config = ScanConfig(fwd_chunks=fc, bwd_chunks=bc, tiles_per_state=every)
    args = make_inputs(batch, dim, length, state, dtype, "cpu")
    check_scan(args, True, TOL[dtype], scan=partial(selective_scan_triton, config=config))


@interpreted
def test_packed_scan_with_sparse_saved_states_interpreted():
    """Sequences that start inside a group of tiles restart there when the backward
    recomputes the group's states."""
    from mambaseq.kernels.triton_scan import ScanConfig
    check_packed([5, 17, 1, 9, 30], 33, 4, torch.float32, "cpu", True,
                 config=ScanConfig(fwd_chunks=2, bwd_chunks=2, tiles_per_state=3))


# (batch, dim, length, state, dtype, fwd/bwd chunks, forward's steps a tile (0: by dtype),
# tiles per saved state, backward's steps a tile): the backward's tiles shorter than the
# forward's (bf16's default, and two of them to a saved state), as long (bf16's 8 steps, no
# longer the default), and longer
SPLIT_TILES_INTERPRETED = [
    (1, 33, 70, 12, torch.bfloat16, (0, 3), 0, 1, 4),
    (1, 33, 70, 12, torch.bfloat16, (2, 3), 0, 1, 8),
    (1, 40, 61, 4, torch.bfloat16, (1, 1), 0, 2, 4),
    (2, 33, 61, 16, torch.float32, (3, 2), 4, 2, 8),
]


@interpreted
@pytest.mark.parametrize("case", SPLIT_TILES_INTERPRETED,
                         ids=lambda c: "b{}d{}l{}n{}-{}-fwd{}x{}-bwd{}".format(
                             *c[:4], str(c[4])[6:], c[6] or "auto", c[7], c[8]))
def test_scan_with_backward_tiles_of_their_own_interpreted(case):
    """The backward in tiles of another length than the forward's, reading the states the
    forward saved: the same output, final state and gradients as the float64 reference."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    batch, dim, length, state, dtype, (fc, bc), block_t, every, bwd_block_t = case
    config = ScanConfig(fwd_chunks=fc, bwd_chunks=bc, block_t=block_t, tiles_per_state=every,
                        bwd_block_t=bwd_block_t)
    args = make_inputs(batch, dim, length, state, dtype, "cpu")
    check_scan(args, True, TOL[dtype], scan=partial(selective_scan_triton, config=config))


@interpreted
def test_packed_scan_with_backward_tiles_of_their_own_interpreted():
    """Sequences that start inside an 8-step forward tile restart there in the backward's
    4-step tiles."""
    from mambaseq.kernels.triton_scan import ScanConfig
    check_packed([5, 17, 1, 9, 30], 33, 4, torch.float32, "cpu", True,
                 config=ScanConfig(fwd_chunks=2, bwd_chunks=2, block_t=8, bwd_block_t=4))


@interpreted
@pytest.mark.parametrize("layout, grad_layout", [("rows", "channels-last"),
                                                 ("channels-last", "rows")])
def test_scan_reads_strided_memory_interpreted(layout, grad_layout):
    """u, delta, z read in place as rows of a wider tensor or copied from channels-last
    memory, the output's gradient read in place channels-last (a step at a time) or as rows:
    the same output and gradients as contiguous tensors give."""
    args = make_inputs(2, 40, 21, 4, torch.float32, "cpu")
    check_scan(args, True, TOL[torch.float32], layout=layout, grad_layout=grad_layout)


@interpreted
def test_chunks_carried_state_matches_one_call_interpreted():
    """Two calls with the state carried give the output of one call over the whole length."""
    args = make_inputs(1, 32, 24, 4, torch.float32, "cpu", with_h0=False)
    y_all = ops.selective_scan(**args, delta_softplus=True)
    first = {k: v[..., :10] if k in ("u", "delta", "z", "B", "C") else v for k, v in args.items()}
    rest = {k: v[..., 10:] if k in ("u", "delta", "z", "B", "C") else v for k, v in args.items()}
    y1, h1 = ops.selective_scan(**first, delta_softplus=True, return_final_state=True)
    rest["initial_state"] = h1
    y2 = ops.selective_scan(**rest, delta_softplus=True)
    assert rel_err(torch.cat([y1, y2], -1), y_all) <= 1e-5


@interpreted
def test_dispatch_uses_triton_interpreted(monkeypatch):
    """With MAMBASEQ_KERNELS=triton, ops.selective_scan runs the Triton op, not the reference."""
    import mambaseq.kernels.triton_scan as ts
    calls = []
    real = ts.selective_scan_triton
    monkeypatch.setattr(ts, "selective_scan_triton", lambda *a, **k: calls.append(1) or real(*a, **k))
    ops.selective_scan(**make_inputs(1, 32, 5, 4, torch.float32, "cpu"), delta_softplus=True)
    assert calls == [1]


def test_scan_under_triton_interpreter():
    """Run this file's interpreted cases in a fresh process with the interpreter switched on."""
    if INTERPRETED:
        pytest.skip("already inside the interpreter subprocess")
    env = dict(os.environ, TRITON_INTERPRET="1", MAMBASEQ_KERNELS="triton",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-k", "interpreted"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize("dtype, delta_dtype, config, tiles", [
    (torch.bfloat16, torch.bfloat16, None, (8, 1, 4, 2)),
    (torch.bfloat16, torch.bfloat16, dict(tiles_per_state=3), (8, 3, 4, 6)),
    (torch.bfloat16, torch.bfloat16, dict(bwd_block_t=8), (8, 1, 8, 1)),
    (torch.bfloat16, torch.float32, None, (4, 1, 4, 1)),
    (torch.float32, torch.float32, dict(block_t=2, tiles_per_state=2), (2, 2, 2, 2)),
])
def test_backward_tiles_by_default_and_by_config(dtype, delta_dtype, config, tiles):
    """(forward's steps a tile, its tiles a saved state, the backward's, its tiles a saved
    state): bf16 inputs' backward takes 4-step tiles, every other plan the forward's."""
    from mambaseq.kernels.triton_scan import ScanConfig, _backward_plan, _make_plan
    u = torch.zeros(1, 32, 100, dtype=dtype)
    A = torch.zeros(32, 16)
    config = ScanConfig(**config) if config else None
    fwd = _make_plan(u, u.to(delta_dtype), A, 1, config)
    bwd = _backward_plan(fwd, config, u.device)
    assert (fwd.block_t, fwd.tiles_per_state, bwd.block_t, bwd.tiles_per_state) == tiles
    assert bwd.n_saved == fwd.n_saved and bwd.length_pad == fwd.length_pad


@pytest.mark.parametrize("config, message", [
    (dict(fwd_max_regs=300), "ScanConfig.fwd_max_regs must be 0 (no cap) or 24 .. 255, got 300"),
    (dict(bwd_max_regs=16), "ScanConfig.bwd_max_regs must be 0 (no cap) or 24 .. 255, got 16"),
    (dict(block_t=4, tiles_per_state=3, bwd_block_t=8),
     "bwd_block_t (8) must divide the steps between saved states (block_t 4 x "
     "tiles_per_state 3 = 12)"),
    (dict(layout="blocks"), "ScanConfig.layout must be one of ('auto', 'tiles', 'block'), "
     "got 'blocks'"),
    (dict(layout="block", block_l=24), "ScanConfig.block_l must be 0 or a power of two >= 16, "
     "got 24"),
    (dict(layout="block", block_bwd_warps=3), "ScanConfig.block_bwd_warps must be 0 or a power "
     "of two, got 3"),
    (dict(layout="block", packed=True), "ScanConfig.layout 'block' does not take packed "
     "sequences (cu_seqlens)"),
    (dict(layout="block", bwd_max_regs=256), "ScanConfig.bwd_max_regs must be 0 (no cap) or "
     "24 .. 255, got 256"),
])
def test_tilings_the_kernels_cannot_run_are_refused(config, message):
    """A register cap, a backward tiling or a block layout it cannot run is refused before
    anything is allocated or launched."""
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(1, 32, 8, 4, torch.float32, "cpu")
    config = dict(config)
    packed = dict(cu_seqlens=torch.tensor([0, 3, 8])) if config.pop("packed", False) else {}
    with pytest.raises(ValueError, match=re.escape(message)):
        selective_scan_triton(**args, config=ScanConfig(**config), **packed)


@pytest.mark.parametrize("channel_stride, wide", [(1 << 30, True), ((1 << 30) - 1, False)])
def test_block_kernels_take_int64_channel_offsets_past_int32(channel_stride, wide):
    """The block kernels' WIDE (int64 channel offsets) is on exactly where the last channel's
    offset, (dim - 1) x the widest channel stride, passes 2^31 - 1 (meta tensors: no memory);
    each tensor comes with its batch and channel strides."""
    from mambaseq.kernels.triton_block_scan import _channel_rows
    far = torch.empty_strided((1, 3, 100), (3 * channel_stride, channel_stride, 1),
                              device="meta", dtype=torch.bfloat16)
    near = torch.empty(1, 3, 100, device="meta", dtype=torch.bfloat16)
    rows, is_wide = _channel_rows(3, near, far)
    assert is_wide is wide
    assert rows == [near, 300, 100, far, 3 * channel_stride, channel_stride]


@pytest.mark.parametrize("block_l, config, warps", [
    (2048, {}, (4, 4)), (1024, {}, (2, 2)), (512, {}, (1, 1)), (16, {}, (1, 1)),
    (8192, {}, (4, 4)), (512, dict(block_fwd_warps=4), (4, 1)),
    (2048, dict(block_bwd_warps=8), (4, 8)),
])
def test_block_layout_warps_follow_the_chunk_unless_set(block_l, config, warps):
    """A warp a 512 steps of a chunk (16 steps a thread, as mamba_ssm's kernel), at most 4;
    ScanConfig's warps override either direction."""
    from mambaseq.kernels.triton_block_scan import block_warps
    from mambaseq.kernels.triton_scan import ScanConfig
    assert block_warps(block_l, ScanConfig(layout="block", **config)) == warps


def test_reference_dispatch_without_triton(monkeypatch):
    """MAMBASEQ_KERNELS=reference keeps ops.selective_scan on the PyTorch reference."""
    monkeypatch.setenv("MAMBASEQ_KERNELS", "reference")
    args = make_inputs(1, 4, 6, 3, torch.float32, "cpu")
    y = ops.selective_scan(**args, delta_softplus=True)
    assert torch.equal(y, selective_scan_ref(**args, delta_softplus=True))


def check_packed(lengths: list[int], dim: int, state: int, dtype: torch.dtype, device: str,
                 with_init: bool, **kwargs) -> None:
    """A packed row through the Triton scan against every sequence alone through the float64
    reference: y, per-sequence final states and every gradient."""
    from mambaseq.kernels.triton_scan import selective_scan_triton
    args, cu = packed_inputs(make_inputs, lengths, batch=1, dim=dim, state=state, dtype=dtype,
                             device=device, with_h0=False)
    if with_init:
        args["initial_state"] = torch.randn(len(lengths), dim, state, device=device)
    cot = (torch.randn(1, dim, sum(lengths), device=device, dtype=torch.float64),
           torch.randn(len(lengths), dim, state, device=device, dtype=torch.float64))
    packed = run_packed(selective_scan_triton, args, cu.to(device), cot, delta_softplus=True,
                        **kwargs)
    alone = run_alone(selective_scan_ref, args, cu, cot, dtype=torch.float64, delta_softplus=True)
    assert packed.keys() == alone.keys()
    errors = {name: rel_err(packed[name], alone[name]) for name in packed}
    bad = {k: f"{v:.2e}" for k, v in errors.items() if not v <= TOL[dtype]}
    assert not bad, f"relative errors above {TOL[dtype]:.0e}: {bad}"


# (lengths, state, dtype, with initial states, fwd/bwd chunks)
PACKED_INTERPRETED = [
    (LENGTHS, 16, torch.float32, True, (0, 0)),         # split states, default chunks
    (LENGTHS, 4, torch.float32, False, (4, 3)),         # starts inside and at chunk edges
    ([1, 30, 1, 12], 4, torch.bfloat16, True, (3, 2)),  # 16-bit tiles of 8 steps
    ([44], 5, torch.float32, True, (4, 4)),             # one sequence across every chunk
]


@interpreted
@pytest.mark.parametrize("lengths, state, dtype, with_init, chunks", PACKED_INTERPRETED,
                         ids=[f"case{i}" for i in range(len(PACKED_INTERPRETED))])
def test_packed_scan_equals_each_alone_interpreted(lengths, state, dtype, with_init, chunks):
    from mambaseq.kernels.triton_scan import ScanConfig
    check_packed(lengths, 33, state, dtype, "cpu", with_init,
                 config=ScanConfig(fwd_chunks=chunks[0], bwd_chunks=chunks[1]))


# ---------------------------------------------------------------- GPU: real sizes

# Each case compiles its own kernel variants (flags, dtypes, divisibility of the sizes by 16),
# the backward of 16-bit u and delta (8-step tiles) being the costliest, 10-18 s for sm_90 on
# a CPU core: few cases, each for the paths it alone reaches. Through ops.selective_scan
# ("auto") the cases of 2 x 1536 and 2 x 512 channel rows run in the block layout on an H100
# or H200, the others in tiles (test_both_layouts_match_float64_gpu takes each explicitly).
# (batch, dim, length, state, groups, z, D, bias, h0, softplus, dtype, delta dtype)
GPU_CASES = [
    # training shape, chunked along the length (every size divisible by 16)
    (2, 1536, 2048, 16, None, True, True, True, False, True, torch.float32, None),
    # the model's dtypes under bf16 autocast: 16-bit u, z, B, C, float32 delta (4-step tiles)
    (2, 1536, 2048, 16, None, True, True, True, False, True, torch.bfloat16, torch.float32),
    # partial channel block, partial last tile (4k+3, 8k+7), initial state; in both tile sizes
    (2, 200, 999, 16, None, True, True, True, True, True, torch.float32, None),
    (2, 200, 999, 16, None, True, True, True, True, True, torch.bfloat16, None),
    # length 1
    (1, 256, 1, 16, None, True, True, True, True, True, torch.float32, None),
    # groups, state 12 (masked states), no z, D, bias or softplus
    (2, 512, 777, 12, 4, False, False, False, True, False, torch.float32, None),
]


@pytest.mark.gpu
@pytest.mark.parametrize("case", GPU_CASES,
                         ids=lambda c: "b{}d{}l{}n{}g{}-{}".format(*c[:5], str(c[10])[6:]) + (
                             f"-delta{str(c[11])[6:]}" if c[11] else ""))
def test_scan_matches_float64_gpu(case, monkeypatch):
    monkeypatch.setenv("MAMBASEQ_KERNELS", "triton")
    batch, dim, length, state, groups, z, D, bias, h0, softplus, dtype, delta_dtype = case
    args = make_inputs(batch, dim, length, state, dtype, "cuda", groups, z, D, bias, h0, softplus,
                       delta_dtype)
    check_scan(args, softplus, TOL[dtype])


@pytest.mark.gpu
@pytest.mark.parametrize("layout", ["tiles", "block"])
def test_both_layouts_match_float64_gpu(layout):
    """Each layout taken explicitly at the cases "auto" gives the other: the partial channel
    block and partial last chunk with an initial state (bf16; "auto": tiles), the model's
    dtypes at the training shape (16-bit u, z, B, C, float32 Δ; "auto": block)."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    scan = partial(selective_scan_triton, config=ScanConfig(layout=layout))
    for batch, dim, length, h0, delta_dtype in ((2, 200, 999, True, None),
                                                (2, 1536, 2048, False, torch.float32)):
        args = make_inputs(batch, dim, length, 16, torch.bfloat16, "cuda", with_h0=h0,
                           delta_dtype=delta_dtype)
        check_scan(args, True, TOL[torch.bfloat16], scan=scan)


@pytest.mark.gpu
def test_block_scan_direct_launches_match_float64_gpu(monkeypatch):
    """A shape's second call in the block layout launches the compiled kernels kept by the
    first (``kernels.triton_launch``), forward and backward, without Triton's binding; its
    results are checked against float64 as the first call's are. The shape and flags of the
    first case above, so nothing new compiles."""
    from functools import partial
    from mambaseq.kernels import triton_block_scan
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    through_triton = []
    for launcher in (triton_block_scan._launch_fwd, triton_block_scan._launch_bwd):
        def keep_counted(*args, keep=launcher._launch_and_keep):
            through_triton.append(args[0])
            keep(*args)
        monkeypatch.setattr(launcher, "_launch_and_keep", keep_counted)
    scan = partial(selective_scan_triton, config=ScanConfig(layout="block"))
    counts = []
    for _ in range(2):
        args = make_inputs(2, 200, 999, 16, torch.bfloat16, "cuda", with_h0=True)
        check_scan(args, True, TOL[torch.bfloat16], scan=scan)
        counts.append(len(through_triton))
    assert counts[0] <= 2 and counts[1] == counts[0]
    check_forward_without_graph(args, True, TOL[torch.bfloat16], scan)


def far_channels(t: torch.Tensor) -> torch.Tensor:
    """t (batch, dim, length), same values, with its channels 2^30 elements apart in fresh
    memory (batch x dim x 2^30 elements): from the third channel on, a channel's offset
    passes 2^31. Differentiable (a copy into a view), so gradients reach t."""
    batch, dim, length = t.shape
    stride = 1 << 30
    memory = torch.empty(batch * dim * stride, dtype=t.dtype, device=t.device)
    far = memory.as_strided(t.shape, (dim * stride, stride, 1))
    far.copy_(t)
    return far


@pytest.mark.gpu
def test_block_scan_reads_channels_past_int32_offsets_gpu():
    """u's channels 2^30 elements apart (6 GiB of bf16), so the third's offset passes 2^31:
    the block layout's kernels take their channel offsets in int64 there (WIDE), forward and
    backward, and match float64."""
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton

    def scan(u, **kwargs):
        return selective_scan_triton(far_channels(u), config=ScanConfig(layout="block"),
                                     **kwargs)
    args = make_inputs(1, 3, 100, 4, torch.bfloat16, "cuda")
    check_scan(args, True, TOL[torch.bfloat16], scan=scan)
    torch.cuda.empty_cache()


@pytest.mark.gpu
def test_block_scan_odd_state_count_matches_float64_gpu():
    """The block layout at an odd state count (15) over one full and one partial chunk: its
    backward loads each next state's B and C while it works on one, the load after the last
    state masked off. bf16, an initial state, against float64."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(2, 256, 2100, 15, torch.bfloat16, "cuda", with_h0=True)
    check_scan(args, True, TOL[torch.bfloat16], scan=partial(
        selective_scan_triton, config=ScanConfig(layout="block")))


@pytest.mark.gpu
def test_block_scan_with_register_caps_matches_float64_gpu():
    """The block layout's kernels compiled under register caps (the backward spills to local
    memory) against float64; the shape and flags of the case above."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(2, 200, 999, 16, torch.bfloat16, "cuda", with_h0=True)
    config = ScanConfig(layout="block", fwd_max_regs=96, bwd_max_regs=128)
    check_scan(args, True, TOL[torch.bfloat16], scan=partial(selective_scan_triton,
                                                             config=config))


@pytest.mark.gpu
def test_scan_reads_strided_memory_gpu(monkeypatch):
    """The mixer's layouts, at the autocast case (its dtypes and shape): u, delta, z the channel
    rows of a wider tensor (read in place), the output's gradient channels-last (read a step
    at a time)."""
    monkeypatch.setenv("MAMBASEQ_KERNELS", "triton")
    args = make_inputs(2, 1536, 2048, 16, torch.bfloat16, "cuda", with_h0=False,
                       delta_dtype=torch.float32)
    check_scan(args, True, TOL[torch.bfloat16], layout="rows", grad_layout="channels-last")


@pytest.mark.gpu
def test_scan_deterministic_output_gpu(monkeypatch):
    """The output (no atomics involved) is bitwise reproducible and fully written; the shape
    and flags of the masked bf16 case (several chunks), so its compiled kernels are reused."""
    monkeypatch.setenv("MAMBASEQ_KERNELS", "triton")
    args = make_inputs(2, 200, 999, 16, torch.bfloat16, "cuda")
    y1 = ops.selective_scan(**args, delta_softplus=True)
    y2 = ops.selective_scan(**args, delta_softplus=True)
    assert torch.isfinite(y1).all() and torch.equal(y1, y2)


@pytest.mark.gpu
def test_scan_with_sparse_saved_states_gpu():
    """A state saved every 8 tiles, the others recomputed inside the backward (scratch rows
    and a barrier between the lanes), several chunks; the first float32 case's shape and
    flags, so that only the two kernels that differ compile (partial groups: the interpreted
    cases)."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(2, 1536, 2048, 16, torch.float32, "cuda", with_h0=False)
    check_scan(args, True, TOL[torch.float32], scan=partial(
        selective_scan_triton, config=ScanConfig(layout="tiles", bwd_chunks=4, tiles_per_state=8)))


@pytest.mark.gpu
def test_scan_with_backward_tiles_of_their_own_gpu():
    """bf16 inputs, the forward in 8-step tiles and the backward in 4-step ones (bf16's
    default since the tile-steps table), several chunks, at a real width."""
    from functools import partial
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    args = make_inputs(2, 1536, 2048, 16, torch.bfloat16, "cuda", with_h0=False)
    check_scan(args, True, TOL[torch.bfloat16], scan=partial(
        selective_scan_triton, config=ScanConfig(layout="tiles", bwd_chunks=4, bwd_block_t=4)))


@pytest.mark.gpu
def test_packed_scan_equals_each_alone_gpu(monkeypatch):
    """Packed rows of many lengths (1 to 3000 steps) at a real width, default tiling, float32
    (the packed logic does not depend on the dtype: the interpreted bf16 case checks 8-step
    tiles, and test_recompute_gpu trains packed under bf16 autocast)."""
    monkeypatch.setenv("MAMBASEQ_KERNELS", "triton")
    g = torch.Generator().manual_seed(7)
    lengths = [1, 1, 2] + torch.randint(1, 3000, (9,), generator=g).tolist() + [1]
    check_packed(lengths, 512, 16, torch.float32, "cuda", with_init=True)
