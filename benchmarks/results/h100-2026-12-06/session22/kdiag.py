"""Session 22: what bounds the block scan's kernels from 8K steps up (B1 D1024 bf16, the scan
table's inputs), ours only: GPU time a call of the forward's and backward's kernels
(torch.profiler over 10 calls) under variants of the inputs and the launch, and a mode that
only runs calls for Nsight Compute to read.

  times B,D,L ...       the table, for each shape
  run VARIANT B,D,L N   N forward+backward calls of one variant (for ncu)

Variants (VARIANTS): default; f32bc (B and C given as float32: no bf16 unpacking in the
loops, twice the bytes of B and C read); rR/S/wW: R channels a forward program
(ScanConfig.block_fwd_rows: they share each B_t and C_t load), S steps a chunk, W warps a
forward program; "gluon ...": the forward's Gluon kernel (GLUON_FORWARD). Needs a tree with
block-forward.patch applied.

    PYTHONPATH=. python3 benchmarks/results/h100-2026-12-06/session22/kdiag.py times 1,1024,8192
"""
import sys

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.scan import mamba_inputs, scan_arguments
from mambaseq.kernels import triton_block_scan
from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton


def kernel_us(fn, names: tuple[str, ...], warm: int = 3, calls: int = 10) -> dict[str, float]:
    """GPU us a call of ``fn`` in each kernel whose name holds one of ``names``
    (torch.profiler over ``calls`` calls after ``warm``)."""
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    return {name: sum(getattr(e, "self_device_time_total", 0.0) for e in prof.key_averages()
                      if name in e.key) / calls for name in names}


def _block(rows: int = 0, block_l: int = 0, fwd_warps: int = 0, bwd_warps: int = 0):
    return ScanConfig(layout="block", block_fwd_rows=rows, block_l=block_l,
                      block_fwd_warps=fwd_warps, block_bwd_warps=bwd_warps)


# name: (config, B and C as float32, the forward in Gluon); rows/steps/forward warps
VARIANTS = {
    "default": (_block(), False, False),
    "f32bc": (_block(), True, False),
    "r1/1024/w2": (_block(1, 1024, 2, 2), False, False),
    "r1/512/w1": (_block(1, 512, 1, 1), False, False),
    "r2/2048/w4": (_block(2), False, False),
    "r2/2048/w8": (_block(2, 2048, 8), False, False),
    "r2/1024/w4": (_block(2, 1024, 4, 2), False, False),
    "r2/1024/w2": (_block(2, 1024, 2, 2), False, False),
    "r2/512/w1": (_block(2, 512, 1, 1), False, False),
    "r4/1024/w4": (_block(4, 1024, 4, 2), False, False),
    "gluon": (_block(), False, True),
    "gluon r1/1024/w2": (_block(1, 1024, 2, 2), False, True),
    "gluon r2/2048/w4": (_block(2), False, True),
    "gluon r2/1024/w4": (_block(2, 1024, 4, 2), False, True),
}


def step_of(variant: str, shape: tuple[int, int, int]):
    config, f32, gluon = VARIANTS[variant]
    triton_block_scan.GLUON_FORWARD = gluon
    args = mamba_inputs(*shape)
    if f32:
        for name in ("B", "C"):
            args[name] = args[name].detach().float().requires_grad_()
    core, kw = scan_arguments(args)
    inputs = list(args.values())
    out = selective_scan_triton(*core, **kw, config=config)
    dout = torch.randn_like(out)
    del out

    def both():
        for t in inputs:
            t.grad = None
        selective_scan_triton(*core, **kw, config=config).backward(dout)
    return both


def times(shapes: list[tuple[int, int, int]]) -> None:
    print(f"# {torch.cuda.get_device_name()}: GPU us a call, bf16")
    print("| B, D, L | variant | forward kernel us | backward kernel us |")
    print("|---|---|---|---|")
    for shape in shapes:
        for variant in VARIANTS:
            label = f"| {', '.join(map(str, shape))} | {variant} |"
            try:
                us = kernel_us(step_of(variant, shape), ("_block_fwd_kernel",
                                                         "_block_bwd_kernel"))
            except Exception as err:        # a variant that fails: say so, go on
                print(f"{label} {type(err).__name__}: {str(err)[:200]} | |", flush=True)
                torch.cuda.empty_cache()
                continue
            print(f"{label} {us['_block_fwd_kernel']:.1f} | {us['_block_bwd_kernel']:.1f} |",
                  flush=True)
            torch.cuda.empty_cache()


if __name__ == "__main__":
    def shape_of(text: str) -> tuple[int, int, int]:
        return tuple(map(int, text.split(",")))
    if sys.argv[1] == "times":
        times([shape_of(x) for x in sys.argv[2:]])
    else:
        both = step_of(sys.argv[2], shape_of(sys.argv[3]))
        for _ in range(int(sys.argv[4])):
            both()
        torch.cuda.synchronize()
