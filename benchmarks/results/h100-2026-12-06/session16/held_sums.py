"""Issue 14, session 16: what a parameter's gradient keeps alive after one block-scan
backward at B1 D1024 N16 L 2^20 (bf16 u, delta, z, B, C; float32 D and Δ bias as leaves):
the bytes of the storage under D.grad and dt_bias.grad, main's block file against this
checkout's. Main returns them as views of the backward's one buffer, which also holds dB
and dC's float32 sums (128 MiB here).

    PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session16/held_sums.py
"""
import torch

from benchmarks.scan import mamba_inputs, scan_arguments
from benchmarks.scan_versions import baseline_scan, load_baseline
from mambaseq.kernels.triton_scan import selective_scan_triton

scans = {"main": baseline_scan(load_baseline(".gpu/triton_block_scan_main.py")),
         "this": selective_scan_triton}
print("| version | D.grad storage MiB | delta_bias.grad storage MiB | allocated after, GiB |")
print("|---|---|---|---|")
for name, scan in scans.items():
    args = mamba_inputs(1, 1024, 1 << 20)
    core, kw = scan_arguments(args)
    scan(*core, **kw).backward(torch.randn_like(args["u"]))
    torch.cuda.synchronize()
    held = [kw[k].grad.untyped_storage().nbytes() / 2**20 for k in ("D", "delta_bias")]
    print(f"| {name} | {held[0]:.3f} | {held[1]:.3f} | "
          f"{torch.cuda.memory_allocated() / 2**30:.3f} |", flush=True)
    del args, core, kw
    torch.cuda.empty_cache()
