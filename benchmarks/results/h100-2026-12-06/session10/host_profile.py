"""Issue 14, session 10: where a short scan's host time goes (B1 D1024 L512 bf16, gated), ours
beside mamba_ssm. 1) cProfile of 300 forward+backward calls, the 25 functions with the most
own time; 2) one block-forward launch through Triton's JITFunction against the same launch
through the compiled kernel's launcher (its arguments bound once), wall time a launch.

    MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session10/host_profile.py
"""
import cProfile
import pstats
import time

import torch

import mambaseq.kernels.triton_block_scan as block
from benchmarks.scan_profile import scan_calls, scans_beside_peer
from mambaseq.kernels.triton_scan import selective_scan_triton

scans, _ = scans_beside_peer()
for name, scan in scans.items():
    _, forward_backward = scan_calls(scan, 512)
    for _ in range(30):
        forward_backward()
    torch.cuda.synchronize()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(300):
        forward_backward()
    profiler.disable()
    torch.cuda.synchronize()
    print(f"## {name}: {(time.perf_counter() - start) / 300 * 1e6:.0f} us a fwd+bwd under cProfile")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

# the same launch, two ways
captured = {}
jit_run = block._block_fwd_kernel.run


def capturing_run(*args, grid, warmup, **kwargs):
    compiled = jit_run(*args, grid=grid, warmup=warmup, **kwargs)
    captured.update(args=args, kwargs=kwargs, grid=grid, compiled=compiled)
    return compiled


block._block_fwd_kernel.run = capturing_run
forward, _ = scan_calls(selective_scan_triton, 512)
forward()
block._block_fwd_kernel.run = jit_run
args, kwargs, grid, compiled = (captured[k] for k in ("args", "kwargs", "grid", "compiled"))
device = torch.cuda.current_device()
binder = block._block_fwd_kernel.device_caches[device][4]
bound, _, _ = binder(*args, **kwargs)
values = list(bound.values())
stream = torch.cuda.current_stream().cuda_stream


def through_jit():
    block._block_fwd_kernel[grid](*args, **kwargs)


def through_compiled():
    compiled.run(grid[0], grid[1], 1, stream, compiled.function, compiled.packed_metadata, None,
                 None, None, *values)


for label, fn in (("JITFunction", through_jit), ("compiled launcher", through_compiled)) * 2:
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    walls = []
    for _ in range(500):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        if len(walls) % 50 == 0:
            torch.cuda.synchronize()
    walls.sort()
    print(f"{label}: launch median {walls[250] * 1e6:.1f} us, p90 {walls[450] * 1e6:.1f} us "
          f"({len(values)} bound arguments)")
