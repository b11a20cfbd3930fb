"""Issue 14, session 9: where the host time of a short scan goes (B1 D1024 L512 bf16, gated),
ours beside mamba_ssm: the wall time of each Triton launch of ours (a timing wrapper around
the kernels' launches), then torch.profiler's CPU table of forward+backward (all threads).

    MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session9/host_costs.py
"""
import time

import torch
from torch.profiler import ProfilerActivity, profile

import mambaseq.kernels.triton_block_scan as block
from benchmarks.peer import load_selective_scan_fn
from benchmarks.scan_profile import scan_calls
from mambaseq.kernels.triton_scan import selective_scan_triton


class TimedLaunch:
    """A Triton kernel whose launches' host wall times (s) are kept in ``times``."""

    def __init__(self, kernel):
        self.kernel, self.times = kernel, []

    def __getitem__(self, grid):
        launch = self.kernel[grid]

        def timed(*args, **kwargs):
            start = time.perf_counter()
            launch(*args, **kwargs)
            self.times.append(time.perf_counter() - start)
        return timed


fwd_kernel, bwd_kernel = TimedLaunch(block._block_fwd_kernel), TimedLaunch(block._block_bwd_kernel)
block._block_fwd_kernel, block._block_bwd_kernel = fwd_kernel, bwd_kernel
scans = {"ours": selective_scan_triton}
peer, note = load_selective_scan_fn()
if peer is not None:
    scans["mamba_ssm"] = peer
for name, scan in scans.items():
    _, forward_backward = scan_calls(scan, 512)
    for _ in range(30):
        forward_backward()
    torch.cuda.synchronize()
    fwd_kernel.times.clear(), bwd_kernel.times.clear()
    walls = []
    for _ in range(100):
        torch.cuda.synchronize()
        start = time.perf_counter()
        forward_backward()
        walls.append(time.perf_counter() - start)
    torch.cuda.synchronize()
    walls.sort()
    print(f"## {name}: fwd+bwd host median {walls[50] * 1e6:.0f} us")
    for label, kernel in (("forward", fwd_kernel), ("backward", bwd_kernel)):
        if kernel.times:
            t = sorted(kernel.times)
            print(f"   {label} launch: median {t[len(t) // 2] * 1e6:.0f} us, max {t[-1] * 1e6:.0f} us")
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(20):
            forward_backward()
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=22,
                                    max_name_column_width=60))
