"""Issue 14, session 15: main's block scan (and main's launcher) against this checkout's, and
mamba_ssm, in one process. B1 D1024 N16 bf16 gated (benchmarks/scan.py's inputs):
1. host us a call at 512 (GPU idle at the start), forward without a graph and fwd+bwd,
   5 alternating rounds, the median of each round's 200-call median;
2. event ms a call (benchmarks/scan.median_ms) of fwd+bwd and fwd at 512 .. 32K, 3
   alternating rounds, best round.
Needs .gpu/triton_launch_main.py copied to kernels/ (the baseline imports it).

    MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm python benchmarks/results/h100-2026-12-06/session15/host_ab.py
"""
import statistics

import torch

from benchmarks.scan import median_ms
from benchmarks.scan_profile import host_ms, scan_calls
from benchmarks.scan_versions import baseline_scan, load_baseline
from benchmarks.peer import load_selective_scan_fn
from mambaseq.kernels.triton_scan import selective_scan_triton

scans = {"main": baseline_scan(load_baseline(".gpu/triton_block_scan_main.py")),
         "new": selective_scan_triton}
peer, note = load_selective_scan_fn()
if peer is not None:
    scans["mamba_ssm"] = peer
print(f"# {torch.cuda.get_device_name()}; mamba_ssm: {note}", flush=True)
calls = {name: scan_calls(scan, 512) for name, scan in scans.items()}
host = {(name, p): [] for name in scans for p in ("fwd", "fwd+bwd")}
for _ in range(5):
    for name, (fwd, fb) in calls.items():
        host[(name, "fwd")].append(host_ms(fwd, reps=200) * 1e3)
        host[(name, "fwd+bwd")].append(host_ms(fb, reps=200) * 1e3)
print("| host us at 512 | " + " | ".join(scans) + " | new / main |")
print("|---|" + "---|" * (len(scans) + 1))
for p in ("fwd", "fwd+bwd"):
    med = {name: statistics.median(host[(name, p)]) for name in scans}
    print(f"| {p} | " + " | ".join(f"{med[n]:.1f}" for n in scans)
          + f" | {med['new'] / med['main']:.3f} |", flush=True)
print("\n| L | pass | " + " | ".join(f"{n} ms" for n in scans) + " | new / main | new / mamba_ssm |")
print("|---|---|" + "---|" * (len(scans) + 2))
for length in (512, 1024, 2048, 4096, 8192, 16384, 32768):
    calls = {name: scan_calls(scan, length) for name, scan in scans.items()}
    ev = {(name, p): [] for name in scans for p in ("fwd", "fwd+bwd")}
    for _ in range(3):
        for name, (fwd, fb) in calls.items():
            ev[(name, "fwd")].append(median_ms(fwd))
            ev[(name, "fwd+bwd")].append(median_ms(fb))
    for p in ("fwd", "fwd+bwd"):
        b = {name: min(ev[(name, p)]) for name in scans}
        ratio = f"{b['new'] / b['mamba_ssm']:.3f}" if "mamba_ssm" in b else "-"
        print(f"| {length} | {p} | " + " | ".join(f"{b[n]:.4f}" for n in scans)
              + f" | {b['new'] / b['main']:.3f} | {ratio} |", flush=True)
    del calls
    torch.cuda.empty_cache()
