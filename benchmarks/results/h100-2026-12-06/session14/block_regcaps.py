"""Issue 14, session 14: the block layout's backward under register caps (more programs a
multiprocessor, spilling to local memory), beside mamba_ssm, side by side in one process.
kernel_stats (sm_90): uncapped 255 registers, 24 bytes of stack, 979 instructions in the loop;
capped at 168: 256 bytes, 1,103; at 128: 408 bytes, 1,182.

    MAMBASEQ_PEER_DIR=$PWD/.peer/mamba_ssm PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session14/block_regcaps.py OUT
"""
import csv
import sys

from benchmarks.peer import load_selective_scan_fn
from benchmarks.scan import guarded, mamba_inputs, scan_arguments, time_and_memory
from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton

SHAPES = [(1, 1024, 1 << 16), (1, 1024, 1 << 20), (8, 1536, 2048), (8, 1536, 8192)]
CONFIGS = {"block": ScanConfig(layout="block"),
           "bwd 168": ScanConfig(layout="block", bwd_max_regs=168),
           "bwd 128": ScanConfig(layout="block", bwd_max_regs=128)}

peer, note = load_selective_scan_fn()
print(f"# mamba_ssm: {note}\n# ms fwd / fwd+bwd, peak GiB; (x): fwd+bwd / mamba_ssm's\n")
print("| B, D, L | mamba_ssm | " + " | ".join(CONFIGS) + " |")
print("|---|---|" + "---|" * len(CONFIGS), flush=True)
rows = []
for batch, dim, length in SHAPES:
    args = mamba_inputs(batch, dim, length)
    inputs = list(args.values())
    core, kw = scan_arguments(args)
    cells = {"mamba_ssm": guarded(lambda: time_and_memory(lambda: peer(*core, **kw), inputs))}
    for label, config in CONFIGS.items():
        cells[label] = guarded(lambda: time_and_memory(
            lambda: selective_scan_triton(*core, **kw, config=config), inputs))
    ref = cells["mamba_ssm"].fwdbwd_ms
    print(f"| {batch}, {dim}, {length} | " + " | ".join(
        f"{c.fwd_ms:.3f} / {c.fwdbwd_ms:.3f}, {c.peak_gib:.2f} ({c.fwdbwd_ms / ref:.3f})"
        for c in cells.values()) + " |", flush=True)
    rows += [[batch, dim, length, label, c.fwd_ms, c.fwdbwd_ms, c.peak_gib]
             for label, c in cells.items()]
with open(f"{sys.argv[1]}/block_regcaps.csv", "w", newline="") as f:
    csv.writer(f).writerows([["batch", "dim", "length", "config", "fwd_ms", "fwdbwd_ms",
                              "peak_gib"]] + rows)
