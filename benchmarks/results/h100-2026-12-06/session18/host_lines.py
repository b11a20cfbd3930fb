"""Session 18: where a short scan's forward+backward spends its host time, line by line, ours
against mamba_ssm's, at B1 D1024 L512 bf16 (the scan table's first row); and whether a fill
on autograd's backward thread is slower than on the main thread.

Each call: t0 before the scan, t1 after its forward, t2 at the backward's entry, t3 at its
exit, t4 after ``.backward()`` returns. Our backward is timed through a copy of main's
``_BlockScanFn.backward`` (at 5c97084) with clock marks between its lines. Medians of 300
calls without a sync (the GPU is never behind at this length).

    PYTHONPATH=/tmp/site:$ROOT python3 host_lines.py"""
import statistics
import time
from collections import defaultdict

import torch

from benchmarks.peer import load_selective_scan_fn, peer_module
from benchmarks.scan import mamba_inputs, scan_arguments
from mambaseq.kernels import triton_block_scan as TB
from mambaseq.kernels.triton_scan import _channel_major, selective_scan_triton

clock = time.perf_counter
marks: dict[str, list[float]] = defaultdict(list)
stamp: dict[str, float] = {}


def timed_backward(ctx, dout, dfinal):
    """main's _BlockScanFn.backward, with a mark after each group of lines."""
    t = [clock()]
    u, delta, z, A32, B4, C4, D32, bias32, hstart = ctx.saved_tensors
    a_dtype, d_dtype, bias_dtype, h0_dtype = ctx.dtypes
    batch, dim, length = u.shape
    state = A32.shape[1]
    groups = B4.shape[1]
    t.append(clock())
    dout = _channel_major(dout) if dout is not None else torch.zeros_like(u)
    dfinal = dfinal.contiguous().float() if dfinal is not None else None
    want_dh0 = h0_dtype is not None and ctx.needs_input_grad[8]
    t.append(clock())
    du, ddelta = torch.empty_like(u), torch.empty_like(delta)
    dz = torch.empty_like(z) if z is not None else None
    t.append(clock())
    dBC, dA, dD, dbias, gcarry, dh0 = TB._gradient_sums(
        batch, groups, state, length, dim, D32 is not None, bias32 is not None, want_dh0,
        torch.float32 not in (B4.dtype, C4.dtype), u.device)
    t.append(clock())
    zz, dzz = (z, dz) if z is not None else (u, du)
    rows, wide = TB._channel_rows(dim, u, delta, zz, dout, du, ddelta, dzz)
    b_strides, c_strides = ctx.bc_strides
    t.append(clock())
    TB._launch_bwd(
        (dim, batch), *rows, A32, B4, *b_strides, C4, *c_strides,
        D32 if D32 is not None else A32, bias32 if bias32 is not None else A32, hstart,
        dfinal if dfinal is not None else A32, gcarry, dA, dBC[0], dBC[1],
        dD if dD is not None else dA, dbias if dbias is not None else dA,
        dh0 if dh0 is not None else dA, dim, length, state, dim // groups, groups,
        hstart.shape[1], HAS_DFINAL=dfinal is not None, HAS_DH0=want_dh0, WIDE=wide,
        WARPS=ctx.bwd_warps, BLOCK_L=ctx.block_l, BLOCK_N=TB._next_power_of_2(state),
        num_warps=ctx.bwd_warps, maxnreg=ctx.bwd_regs, **ctx.flags)
    t.append(clock())
    if B4.dtype == C4.dtype:
        dB, dC = TB._as(dBC, B4.dtype).unbind(0)
    else:
        dB, dC = dBC[0].to(B4.dtype), dBC[1].to(C4.dtype)
    t.append(clock())
    b_shape, c_shape = ctx.bc_shapes
    out = (du, ddelta, TB._as(dA, a_dtype), dB.reshape(b_shape), dC.reshape(c_shape),
           TB._as(dD, d_dtype), dz, TB._as(dbias, bias_dtype), TB._as(dh0, h0_dtype), None,
           None, None, None)
    t.append(clock())
    for name, a, b in zip(("saved", "dout", "empty_like x3", "gradient sums (zeros)",
                           "channel rows", "launch", "dB dC to bf16", "returns"), t, t[1:]):
        marks["  " + name].append(b - a)
    stamp["t3"] = clock()
    return out


def wrap_backward(fn_cls):
    inner = fn_cls.backward

    def backward(ctx, *grads):
        stamp["t2"] = clock()
        out = inner(ctx, *grads)
        stamp["t3"] = clock()
        return out
    fn_cls.backward = staticmethod(backward)


def timeline(label, scan, core, kw, inputs, dout, reps=300):
    rows = defaultdict(list)
    marks.clear()
    for i in range(reps + 30):
        for g in inputs:
            g.grad = None
        t0 = clock()
        y = scan(*core, **kw)
        t1 = clock()
        y.backward(dout)
        t4 = clock()
        if i >= 30:
            rows["forward (with graph)"].append(t1 - t0)
            rows["engine: backward() to our entry"].append(stamp["t2"] - t1)
            rows["backward function"].append(stamp["t3"] - stamp["t2"])
            rows["engine: our exit to return"].append(t4 - stamp["t3"])
            rows["total"].append(t4 - t0)
    torch.cuda.synchronize()
    print(f"\n### {label}: host us a call (median of {reps})\n")
    print("| part | us |\n|---|---|")
    for name, v in rows.items():
        print(f"| {name} | {statistics.median(v) * 1e6:.1f} |")
    for name, v in marks.items():
        print(f"| {name} | {statistics.median(v[-reps:]) * 1e6:.1f} |")


class Fill(torch.autograd.Function):
    """forward: x * 2; backward: one zeros of ``n`` floats (timed), then the gradient."""
    n = 51_200
    times: list[float] = []

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        t = clock()
        torch.zeros(Fill.n, device=g.device, dtype=torch.float32)
        Fill.times.append(clock() - t)
        return g * 2


def fills():
    """torch.zeros' host time on the main thread and on autograd's backward thread."""
    x = torch.randn(1024, device="cuda", requires_grad=True)
    main = []
    for i in range(330):
        t = clock()
        torch.zeros(Fill.n, device="cuda", dtype=torch.float32)
        main.append(clock() - t)
    for i in range(330):
        x.grad = None
        Fill.apply(x).sum().backward()
    empty = []
    for i in range(330):
        t = clock()
        torch.empty(Fill.n, device="cuda", dtype=torch.float32).zero_()
        empty.append(clock() - t)
    torch.cuda.synchronize()
    print("\n### torch.zeros(51,200 floats): host us (median of 300)\n")
    print(f"| main thread | {statistics.median(main[30:]) * 1e6:.1f} |")
    print(f"| autograd's backward thread | {statistics.median(Fill.times[30:]) * 1e6:.1f} |")
    print(f"| main thread, empty + zero_ | {statistics.median(empty[30:]) * 1e6:.1f} |")


def main() -> None:
    args = mamba_inputs(1, 1024, 512)
    inputs = list(args.values())
    core, kw = scan_arguments(args)
    dout = torch.randn(1, 1024, 512, device="cuda", dtype=torch.bfloat16)
    fills()
    TB._BlockScanFn.backward = staticmethod(timed_backward)
    wrap_backward(TB._BlockScanFn)
    timeline("ours", selective_scan_triton, core, kw, inputs, dout)
    peer, note = load_selective_scan_fn()
    if peer is None:
        print("mamba_ssm:", note)
        return
    wrap_backward(peer_module(None, "ops.selective_scan_interface").SelectiveScanFn)
    timeline("mamba_ssm", peer, core, kw, inputs, dout)
    fills()


if __name__ == "__main__":
    main()
