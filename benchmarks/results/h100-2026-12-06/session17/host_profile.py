"""Session 17: where a short scan's host time goes, ours against mamba_ssm's, at B1 D1024 L512
bf16 (the scan table's first row): torch.profiler's CPU-side table of 50 forward+backward
calls of each (after a warm-up), and the wall time a call with and without the profiler.

    PYTHONPATH=/tmp/site:$ROOT python3 host_profile.py"""
import time

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.peer import load_selective_scan_fn
from benchmarks.scan import mamba_inputs, scan_arguments
from mambaseq.kernels.triton_scan import selective_scan_triton


def main() -> None:
    args = mamba_inputs(1, 1024, 512)
    inputs = list(args.values())
    core, kw = scan_arguments(args)
    dout = torch.randn(1, 1024, 512, device="cuda", dtype=torch.bfloat16)
    peer, note = load_selective_scan_fn()
    scans = {"ours": selective_scan_triton}
    if peer is not None:
        scans["mamba_ssm"] = peer
    for label, scan in scans.items():
        def step():
            for t in inputs:
                t.grad = None
            scan(*core, **kw).backward(dout)

        def fwd():
            with torch.no_grad():
                scan(*core, **kw)
        for fn, name in ((fwd, "fwd"), (step, "fwd+bwd")):
            for _ in range(30):
                fn()
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(200):
                fn()
            host = (time.perf_counter() - t0) / 200 * 1e6
            torch.cuda.synchronize()
            print(f"## {label} {name}: {host:.1f} us a call on the host (200 calls, no sync)")
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(50):
                step()
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25,
                                        max_name_column_width=60))


if __name__ == "__main__":
    main()
