"""Are short scans launch-bound? For each length, ours and mamba_ssm side by side, forward (no
autograd graph) and forward+backward on benchmarks/scan.py's inputs (B1 D1024 N16 bf16, gated):

- ``event ms``: the median time between CUDA events around one call (what scan.py reports);
- ``gpu ms``: the summed time of the CUDA kernels one call launches (torch.profiler);
- ``host ms``: the median wall time the host spends issuing one call, without waiting for
  the GPU (the GPU is idle at the start of each);
- ``kernels``: how many kernels one call launches.

Where event ms is near host ms and well above gpu ms, the GPU waits on the host: the call is
launch-bound. Then the kernel tables of one forward+backward at each length.

    python -m benchmarks.scan_profile [--lengths 512 2048 8192] [--out DIR]

mamba_ssm is used when MAMBASEQ_PEER_DIR points at its source (benchmarks/peer.py). Writes
scan_profile.md to --out.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

import torch

from benchmarks.kernel_profile import kernel_table, profiled_kernels
from benchmarks.peer import load_selective_scan_fn
from benchmarks.scan import mamba_inputs, median_ms, scan_arguments, warm_up
from mambaseq.kernels.triton_scan import selective_scan_triton


def host_ms(fn: Callable[[], object], reps: int = 20) -> float:
    """Median wall time in ms the host spends in ``fn`` with the GPU idle at its start."""
    warm_up(fn)
    times = []
    for _ in range(reps):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    torch.cuda.synchronize()
    return sorted(times)[reps // 2]


def gpu_ms_and_kernels(fn: Callable[[], object]) -> tuple[float, int]:
    """Summed CUDA kernel time in ms of one call of ``fn``, and its kernel count."""
    warm_up(fn)
    kernels = profiled_kernels(fn)
    return (sum(e.self_device_time_total for e in kernels) / 1e3,
            int(sum(e.count for e in kernels)))


def scan_calls(scan: Callable, length: int) -> tuple[Callable[[], object], Callable[[], object]]:
    """(forward without a graph, forward+backward) of ``scan`` on scan.py's B1 D1024 inputs."""
    args = mamba_inputs(1, 1024, length)
    core, kw = scan_arguments(args)
    inputs = list(args.values())
    dout = torch.randn_like(args["u"])

    def forward():
        with torch.no_grad():
            return scan(*core, **kw)

    def forward_backward():
        for t in inputs:
            t.grad = None
        scan(*core, **kw).backward(dout)
    return forward, forward_backward


def scans_beside_peer() -> tuple[dict[str, Callable], str]:
    """{"ours": our scan, "mamba_ssm": its selective_scan_fn where it loads}, and the line
    that says whether it did."""
    scans: dict[str, Callable] = {"ours": selective_scan_triton}
    peer, note = load_selective_scan_fn()
    if peer is not None:
        scans["mamba_ssm"] = peer
    return scans, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 2048, 8192])
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    if any(length < 1 for length in args.lengths):
        parser.error(f"--lengths takes lengths >= 1, got {args.lengths}")
    if not torch.cuda.is_available():
        sys.exit("benchmarks/scan_profile.py needs a CUDA GPU")
    scans, note = scans_beside_peer()
    print(f"# mamba_ssm: {note}")
    lines = ["| L | scan | pass | event ms | gpu ms | host ms | kernels |",
             "|---|---|---|---|---|---|---|"]
    tables = []
    for length in args.lengths:
        for name, scan in scans.items():
            for label, fn in zip(("fwd", "fwd+bwd"), scan_calls(scan, length)):
                gpu, count = gpu_ms_and_kernels(fn)
                line = (f"| {length} | {name} | {label} | {median_ms(fn):.4f} | {gpu:.4f} | "
                        f"{host_ms(fn):.4f} | {count} |")
                print(line, flush=True)
                lines.append(line)
                if label == "fwd+bwd":
                    tables.append(f"### {name}, L {length}, fwd+bwd\n\n{kernel_table(fn)}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "scan_profile.md"), "w") as f:
        f.write("\n".join(lines) + "\n\n" + "\n".join(tables))
    print("\n".join(tables))


if __name__ == "__main__":
    main()
