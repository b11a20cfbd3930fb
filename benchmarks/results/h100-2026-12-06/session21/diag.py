"""Session 21: where a short scan's time goes, ours only (B1 D1024 bf16, the scan table's
inputs), on the GPU machine's host and GPU.

  A. torch.profiler (CPU and CUDA) over 20 forward+backward calls at 512-8K steps: each
     kernel's GPU time and each op's host time a call.
  B. at 512 steps: host time a call without a sync (300 calls, least median of 5 rounds) for
     the forward without a graph, with one, and forward+backward; and CUDA-event time with a
     sync after each call, as benchmarks/scan.py times (median of 50).
  C. cProfile of 1000 forward+backward calls, and of 1000 forwards with a graph, at 512 steps:
     the 30 functions of most own time.
  D. the floor at 512 steps: an autograd function of the scan's arguments, saved tensors and
     allocations (out, final state, chunk states; du, dΔ, dz, one zeroed buffer split into
     the sums) that launches nothing; host time as in B.
  E. GPU time a call of the block forward's and backward's kernels (torch.profiler, 20
     calls) at 2K and 4K steps under chunk lengths and warps other than the defaults.
  M. mamba_ssm's kernels as in A (MAMBASEQ_PEER_DIR set, its extension built).

    PYTHONPATH=. python3 benchmarks/results/h100-2026-12-06/session21/diag.py [PART ...]

PART: A, B, C, D, E, M (default B D E C A).
"""
import cProfile
import pstats
import statistics
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.scan import mamba_inputs, scan_arguments
from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton


def calls(length: int, config: ScanConfig | None = None, scan=None):
    args = mamba_inputs(1, 1024, length)
    core, kw = scan_arguments(args)
    if scan is None:
        scan = selective_scan_triton
        kw["config"] = config
    inputs = list(args.values())

    def graph():
        return scan(*core, **kw)

    out = graph()
    dout = torch.randn_like(out)
    del out

    def both():
        for t in inputs:
            t.grad = None
        graph().backward(dout)

    def forward():
        with torch.no_grad():
            return graph()
    return forward, graph, both


def host_us(fn, rounds=5, n=300):
    for _ in range(100):
        fn()
    torch.cuda.synchronize()
    medians = []
    for _ in range(rounds):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        medians.append(statistics.median(times) * 1e6)
        torch.cuda.synchronize()
    return min(medians)


def event_ms(fn, n=50):
    times = []
    for _ in range(n):
        torch.cuda.synchronize()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def part_a(scan=None, label="ours"):
    for length in (512, 1024, 2048, 4096, 8192):
        forward, graph, both = calls(length, scan=scan)
        for _ in range(30):
            both()
            forward()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(20):
                both()
            torch.cuda.synchronize()
        print(f"\n### A ({label}). L={length}: 20 forward+backward calls")
        print(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=10))
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))


def part_b():
    forward, graph, both = calls(512)
    print("\n### B. L=512")
    print("| call | host us, no sync | event ms, sync each |")
    print("|---|---|---|")
    for name, fn in (("forward", forward), ("forward with graph", graph),
                     ("forward+backward", both)):
        print(f"| {name} | {host_us(fn):.1f} | {event_ms(fn):.3f} |")


def part_c():
    forward, graph, both = calls(512)
    for name, fn in (("forward+backward", both), ("forward with graph", graph)):
        for _ in range(200):
            fn()
        torch.cuda.synchronize()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(1000):
            fn()
        prof.disable()
        torch.cuda.synchronize()
        print(f"\n### C. cProfile, 1000 calls of {name} at 512")
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)


class Floor(torch.autograd.Function):
    """The scan's autograd function without its work: allocations and saved tensors only."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, bias, h0, softplus, needs_grad, launch, stash):
        batch, dim, length = u.shape
        out = torch.empty_like(u)
        final = torch.empty(batch, dim, A.shape[1], device=u.device)
        hstart = torch.empty(batch, 1, dim, A.shape[1], device=u.device)
        ctx.save_for_backward(u, delta, z, A, B, C, D, bias, hstart)
        ctx.set_materialize_grads(False)
        return out, final

    @staticmethod
    def backward(ctx, dout, dfinal):
        u, delta, z, A, B, C, D, bias, hstart = ctx.saved_tensors
        du, ddelta, dz = torch.empty_like(u), torch.empty_like(delta), torch.empty_like(z)
        sizes = [B.numel(), C.numel(), A.numel(), D.numel(), bias.numel(), hstart.numel()]
        dB, dC, dA, dD, dbias, _ = torch.zeros(sum(sizes), device=u.device).split(sizes)
        return (du, ddelta, dA.view(A.shape), dB.view(B.shape), dC.view(C.shape), dD, dz,
                dbias, None, None, None, None, None)


def part_d():
    args = mamba_inputs(1, 1024, 512)
    a = args
    inputs = list(args.values())

    def graph():
        return Floor.apply(a["u"], a["delta"], a["A"], a["B"], a["C"], a["D"], a["z"],
                           a["delta_bias"], None, True, True, (512, (1, 1), (0, 0)), None)[0]

    dout = torch.randn_like(a["u"])

    def both():
        for t in inputs:
            t.grad = None
        graph().backward(dout)
    print("\n### D. the floor at 512")
    print("| call | host us, no sync | event ms, sync each |")
    print("|---|---|---|")
    for name, fn in (("forward with graph", graph), ("forward+backward", both)):
        print(f"| {name} | {host_us(fn):.1f} | {event_ms(fn):.3f} |")


def kernel_us(prof, calls: int) -> dict[str, float]:
    """GPU time a call of each block kernel in a profile of ``calls`` calls, in us."""
    out = {}
    for event in prof.key_averages():
        for kernel in ("_block_fwd_kernel", "_block_bwd_kernel"):
            if kernel in event.key:
                total = getattr(event, "self_device_time_total", None)
                if total is None:
                    total = event.self_cuda_time_total
                out[kernel] = out.get(kernel, 0.0) + total / calls
    return out


def part_e():
    configs = {"default": ScanConfig(layout="block"),
               "block_l 1024": ScanConfig(layout="block", block_l=1024),
               "8 warps": ScanConfig(layout="block", block_fwd_warps=8, block_bwd_warps=8),
               "block_l 1024, 4 warps": ScanConfig(layout="block", block_l=1024,
                                                   block_fwd_warps=4, block_bwd_warps=4)}
    print("\n### E. kernel GPU time a call, us (B1 D1024 bf16)")
    print("| L | config | forward kernel | backward kernel |")
    print("|---|---|---|---|")
    for length in (2048, 4096):
        for name, config in configs.items():
            try:
                forward, graph, both = calls(length, config)
                for _ in range(10):
                    both()
                torch.cuda.synchronize()
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    for _ in range(20):
                        both()
                    torch.cuda.synchronize()
            except Exception as err:    # a config the kernels refuse: say so, go on
                print(f"| {length} | {name} | {type(err).__name__}: {err} | |")
                continue
            us = kernel_us(prof, 20)
            print(f"| {length} | {name} | {us.get('_block_fwd_kernel', 0):.1f} | "
                  f"{us.get('_block_bwd_kernel', 0):.1f} |", flush=True)


def part_m():
    from benchmarks.peer import load_selective_scan_fn
    peer, note = load_selective_scan_fn()
    if peer is None:
        print(f"\n### M. mamba_ssm: {note}")
        return
    part_a(peer, "mamba_ssm")


if __name__ == "__main__":
    parts = dict(A=part_a, B=part_b, C=part_c, D=part_d, E=part_e, M=part_m)
    for name in sys.argv[1:] or ["B", "D", "E", "C", "A"]:
        parts[name]()
