"""Issue 14, session 14: where a short scan's host time goes now (B1 D1024 L512 bf16, gated),
ours beside mamba_ssm, for the forward without a graph and for forward+backward: the median
host wall time of a call (GPU idle at its start), then cProfile of 300 calls, the 15
functions with the most own time.

    MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session14/host_profile.py
"""
import cProfile
import pstats

import torch

from benchmarks.scan_profile import host_ms, scan_calls, scans_beside_peer

scans, note = scans_beside_peer()
print(f"# {torch.cuda.get_device_name()}; mamba_ssm: {note}")
for name, scan in scans.items():
    for label, call in zip(("fwd", "fwd+bwd"), scan_calls(scan, 512)):
        print(f"## {name} {label}: host {host_ms(call, reps=200) * 1e3:.1f} us a call")
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(300):
            call()
        profiler.disable()
        torch.cuda.synchronize()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
