"""Where the GPU time of a piece of work goes: its CUDA kernels by GPU time (torch.profiler),
as a markdown table. Used by benchmarks/generation.py (a decoding step) and
benchmarks/training.py (a training step)."""
from __future__ import annotations

from typing import Callable

import torch


def profiled_kernels(work: Callable[[], object], repeats: int = 1) -> list:
    """Run ``work`` ``repeats`` times under the profiler (CUDA kernels only): its kernels'
    averaged events (``self_device_time_total`` in us, ``count``, ``key``) over all runs,
    longest first. Needs CUDA."""
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(repeats):
            work()
        torch.cuda.synchronize()
    return sorted((e for e in prof.key_averages() if e.self_device_time_total > 0),
                  key=lambda e: -e.self_device_time_total)


def kernel_table(work: Callable[[], object], repeats: int = 1, top: int = 12) -> str:
    """Run ``work`` ``repeats`` times under the profiler (CUDA kernels only) and describe one
    run: how many kernels it launches, its GPU time, and its ``top`` kernels by GPU time
    (calls, microseconds and share per run). Needs CUDA."""
    kernels = profiled_kernels(work, repeats)
    total = sum(e.self_device_time_total for e in kernels) / repeats
    count = sum(e.count for e in kernels) / repeats
    lines = [f"{count:.0f} kernels, {total / 1e3:.3f} ms of GPU time", "",
             "| kernel | calls | us | share |", "|---|---|---|---|"]
    for e in kernels[:top]:
        us = e.self_device_time_total / repeats
        lines.append(f"| {e.key[:80]} | {e.count / repeats:.0f} | {us:.0f} | {us / total:.1%} |")
    return "\n".join(lines) + "\n"
