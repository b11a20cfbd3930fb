"""Issue 14, session 10: where the host time of a short scan's forward+backward goes, ours
(B1 D1024 L512 bf16, gated, the block layout), against mamba_ssm's total. Wall-clock marks
(time.perf_counter, no profiler) at the scan's call, its forward kernel's launch, the return,
the backward's entry, its kernel's launch and the return of .backward(); medians of 300
calls, each mark's time since the one before.

    MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session10/host_timeline.py
"""
import time
from collections import defaultdict

import torch

import mambaseq.kernels.triton_block_scan as block
from benchmarks.scan_profile import scan_calls, scans_beside_peer

marks: list[tuple[str, float]] = []


def mark(name: str) -> None:
    marks.append((name, time.perf_counter()))


def marked(fn, before: str, after: str):
    def wrapper(*args, **kwargs):
        mark(before)
        result = fn(*args, **kwargs)
        mark(after)
        return result
    return wrapper


block._launch_fwd = marked(block._launch_fwd, "forward: Python before the launch",
                           "forward kernel's launch")
block._launch_bwd = marked(block._launch_bwd, "backward: Python before the launch",
                           "backward kernel's launch")
backward = block._BlockScanFn.backward
block._BlockScanFn.backward = staticmethod(marked(backward, "engine, to our backward",
                                                  "backward: Python after the launch"))
scans, _ = scans_beside_peer()
for name, scan in scans.items():
    fwd_only, forward_backward = scan_calls(scan, 512)
    for label, fn in (("fwd", fwd_only), ("fwd+bwd", forward_backward)):
        spans, totals = defaultdict(list), []
        for i in range(330):
            torch.cuda.synchronize()
            marks.clear()
            mark("start")
            fn()
            mark("returned to the caller")
            if i >= 30:
                totals.append(marks[-1][1] - marks[0][1])
                for (_, t0), (what, t1) in zip(marks, marks[1:]):
                    spans[what].append(t1 - t0)
        totals.sort()
        print(f"## {name} {label}: host {totals[len(totals) // 2] * 1e6:.1f} us (median)")
        if name == "ours":
            for what, values in spans.items():
                values.sort()
                print(f"   {what}: {values[len(values) // 2] * 1e6:.1f} us")
