"""Selective-scan speed and memory: our fused Triton kernels against mamba_ssm's CUDA kernel,
FlashAttention (PyTorch SDPA, causal, dim / 64 heads of 64) and the un-fused PyTorch scan.

Inputs are a Mamba layer's (bf16 u, delta, z, B, C (batch, state, length); float32 A, D,
delta_bias; softplus on), at batch 1, dim 1024, state 16 over lengths 2^9 .. 2^20 and at the
training shape batch 8, dim 1536, lengths 2K and 8K. For every cell: forward and
forward+backward time (median over CUDA-event timed calls after a warm-up) and the peak of allocated memory
during forward+backward; the HBM floor is the bytes of inputs and outputs (gradients and the
output's gradient included for forward+backward) over the measured device-copy bandwidth.

    python -m benchmarks.scan [--out DIR] [--min-log2 9] [--max-log2 20] [--no-training-shape]
        [--plans [CHUNKS ...]] [--plans-only]     # ours by chunk count at 2^9 .. 2^13
        [--regcaps [FWD:BWD ...]] [--regcaps-only]  # ours by registers a thread
        [--saved-states [N ...]] [--saved-states-only]  # ours by tiles per saved state
        [--tile-steps [T ...]] [--tile-steps-only]      # ours by steps per tile
        [--layouts] [--layouts-only]            # ours in the tile and the block layout

mamba_ssm is used only when importable: set MAMBASEQ_PEER_DIR to its unpacked source
distribution (benchmarks/peer.py builds and imports it). Prints a table, writes scan.csv and
scan.md and, when matplotlib is importable, scan.png.
"""
from __future__ import annotations

import argparse
import csv
import functools
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from benchmarks.peer import load_selective_scan_fn
from mambaseq.kernels.scan_reference import selective_scan_ref
from mambaseq.kernels.triton_scan import (MAX_REGS_RANGE, ScanConfig, check_max_regs,
                                           selective_scan_triton)

REF_MAX_LOG2 = 16              # the un-fused scan beyond 2^16 takes seconds per call
ATTN_MAX_LEN = 1 << 17         # quadratic attention beyond this takes seconds per call
PLAN_LENGTHS = [1 << k for k in range(9, 14)]   # --plans: the lengths a launch count decides
DEFAULT_PLANS = [1, 2, 4, 8, 0]                 # chunk counts; 0: the automatic plan
# --regcaps: (forward, backward) registers a thread (0: the compiler's choice), at the shapes
# of the 1.4M DNA model's mixer at 2^20 and the 130M LM's at 2K, and the table's B1 D1024 64K
DEFAULT_REGCAPS = ["0:0", "96:0", "80:0", "0:168", "0:128", "80:168"]
REGCAP_SHAPES = [(1, 256, 1 << 20), (8, 1536, 2048), (1, 1024, 1 << 16)]
# --saved-states: tiles per saved state, at the table's longest row and the training shape
DEFAULT_SAVED_STATES = [1, 4, 8, 16]
SAVED_STATES_SHAPES = [(1, 1024, 1 << 20), (8, 1536, 8192)]
# --tile-steps: steps per tile (by default one 16-byte vector of the widest of u and Δ: 8
# steps for this table's bf16 inputs, 4 for the models' float32 Δ), at the --regcaps shapes.
# kernel_stats (sm_90): the backward with 8 steps holds 255 registers and spills 232 bytes a
# thread, with 4 steps 8 bytes; 4 steps save twice the states, unless every other tile's
# (the row "a state every 2 tiles"), or unless only the backward takes 4-step tiles
# (ScanConfig.bwd_block_t, the row "8 steps, the backward in 4": the default for bf16 inputs).
DEFAULT_TILE_STEPS = [8, 4]
# --layouts: the tile layout against the block layout (kernels/triton_block_scan.py) in its
# chunk lengths and warps (forward / backward), from narrow inputs, where the tiles cut the
# length into chunks to fill the GPU, to wide ones; "auto" picks by channel rows (batch x dim)
LAYOUT_SHAPES = [(1, 256, 1 << 20), (1, 512, 1 << 20), (1, 1024, 1 << 20), (1, 512, 1 << 16),
                 (1, 768, 1 << 16), (1, 1024, 1 << 16), (8, 1536, 2048), (8, 1536, 8192)]
LAYOUT_CONFIGS = {"tiles": ScanConfig(layout="tiles")} | {
    f"block {steps}, w4/w{bwd}": ScanConfig(layout="block", block_l=steps, block_fwd_warps=4,
                                           block_bwd_warps=bwd)
    for steps, bwd in ((2048, 8), (2048, 4), (1024, 4), (1024, 8))}


# ----------------------------------------------------------------------------- measuring

@dataclass
class Cell:
    """One implementation at one shape: times in ms, memory in GiB; ``note`` when skipped."""
    fwd_ms: float = math.nan
    fwdbwd_ms: float = math.nan
    peak_gib: float = math.nan
    note: str = ""


@dataclass
class Row:
    batch: int
    dim: int
    length: int
    floor_fwd_ms: float = math.nan
    floor_fwdbwd_ms: float = math.nan
    io_gib: float = math.nan
    cells: dict[str, Cell] = field(default_factory=dict)


def copy_bandwidth() -> float:
    """Device-to-device copy bandwidth in bytes/s (bytes read plus bytes written)."""
    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    ms = median_ms(functools.partial(torch.empty_like(src).copy_, src), budget_ms=200)
    return 2 * (1 << 30) / (ms * 1e-3)


def mamba_inputs(batch: int, dim: int, length: int, state: int = 16) -> dict:
    """A Mamba layer's scan inputs, requiring grad."""
    dev, bf = "cuda", torch.bfloat16
    args = dict(u=torch.randn(batch, dim, length, device=dev, dtype=bf),
                delta=(torch.randn(batch, dim, length, device=dev) * 0.5).to(bf),
                A=-torch.exp(torch.randn(dim, state, device=dev) * 0.5),
                B=torch.randn(batch, state, length, device=dev, dtype=bf),
                C=torch.randn(batch, state, length, device=dev, dtype=bf),
                D=torch.randn(dim, device=dev),
                z=torch.randn(batch, dim, length, device=dev, dtype=bf),
                delta_bias=torch.randn(dim, device=dev) * 0.5 - 2.0)
    return {k: v.requires_grad_() for k, v in args.items()}


def scan_arguments(args: dict) -> tuple[tuple, dict]:
    """``mamba_inputs``' tensors as a selective scan takes them: the positional (u, delta, A,
    B, C) and the keywords D, z, delta_bias, with softplus on."""
    return ((args["u"], args["delta"], args["A"], args["B"], args["C"]),
            dict(D=args["D"], z=args["z"], delta_bias=args["delta_bias"], delta_softplus=True))


def nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


# Wall time each function runs before it is timed. After one warm-up call the first,
# launch-bound row (B1 L512) was not to be trusted: two measurements of the same kernels there
# differed by 2x, and ours read slower there than at 2K (benchmarks/results/h100-2026-12-06,
# sessions 3 and 7).
WARM_UP_MS = 50.0


def warm_up(fn: Callable[[], object], warm_ms: float = WARM_UP_MS,
            clock: Callable[[], float] = time.perf_counter) -> int:
    """Call ``fn`` until ``warm_ms`` of wall time (``clock``, in s) have passed, at least once,
    waiting for the GPU after each call: compiles, the allocator, the host's and the GPU's
    clocks settle before timing. Returns how many calls it made."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    start, calls = clock(), 0
    while calls == 0 or (clock() - start) * 1e3 < warm_ms:
        fn()
        sync()
        calls += 1
    return calls


def median_ms(fn: Callable[[], object], budget_ms: float = 300.0, max_reps: int = 50) -> float:
    """Median time of ``fn`` in ms with CUDA events, after ``warm_up``; repeats while within
    ``budget_ms`` (at least 3 timed calls), so slow peers cost seconds, not minutes."""
    warm_up(fn)
    times: list[float] = []
    while len(times) < max_reps and (len(times) < 3 or sum(times) < budget_ms):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def time_and_memory(forward: Callable[[], torch.Tensor], grads: list[torch.Tensor]) -> Cell:
    """Median forward time (no autograd graph), forward+backward time, and the peak allocated
    memory of one forward+backward, in GiB."""
    with torch.no_grad():
        fwd = median_ms(forward)
    out = forward()
    dout = torch.randn_like(out)
    del out

    def step():
        for g in grads:
            g.grad = None
        forward().backward(dout)
    both = median_ms(step)
    for g in grads:
        g.grad = None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**30
    for g in grads:
        g.grad = None
    return Cell(fwd, both, peak)


def guarded(measure: Callable[[], Cell]) -> Cell:
    try:
        return measure()
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        return Cell(note="out of memory")


def bench_row(batch: int, dim: int, length: int, bandwidth: float, peer: Callable | None,
              peer_note: str, ref_max_len: int) -> Row:
    torch.cuda.empty_cache()
    args = mamba_inputs(batch, dim, length)
    inputs = list(args.values())
    io_fwd = nbytes(*inputs) + nbytes(args["u"])                     # inputs + y
    io_bwd = io_fwd + nbytes(args["u"]) + nbytes(*inputs)            # + dy, + gradients
    row = Row(batch, dim, length, io_fwd / bandwidth * 1e3, (io_fwd + io_bwd) / bandwidth * 1e3,
              io_bwd / 2**30)
    core, scan_kw = scan_arguments(args)
    row.cells["ours"] = guarded(lambda: time_and_memory(
        lambda: selective_scan_triton(*core, **scan_kw), inputs))
    if peer is not None:
        row.cells["mamba_ssm"] = guarded(lambda: time_and_memory(
            lambda: peer(*core, **scan_kw), inputs))
    else:
        row.cells["mamba_ssm"] = Cell(note=peer_note)
    if length <= ATTN_MAX_LEN:
        heads = dim // 64
        qkv = [torch.randn(batch, heads, length, 64, device="cuda", dtype=torch.bfloat16,
                           requires_grad=True) for _ in range(3)]
        row.cells["attention"] = guarded(lambda: time_and_memory(
            lambda: F.scaled_dot_product_attention(*qkv, is_causal=True), qkv))
        del qkv
    else:
        row.cells["attention"] = Cell(note=f"skipped > {ATTN_MAX_LEN}")
    if length <= ref_max_len:
        row.cells["reference"] = guarded(lambda: time_and_memory(
            lambda: selective_scan_ref(*core, **scan_kw), inputs))
    else:
        row.cells["reference"] = Cell(note=f"skipped > {ref_max_len}")
    return row


def config_sweep(shapes: list[tuple[int, int, int]], configs: dict[str, ScanConfig],
                 title: str, out_csv: str) -> None:
    """Our scan at each (batch, dim, length) of ``shapes`` under each of ``configs`` (label ->
    ScanConfig): forward and forward+backward ms and the peak GiB of forward+backward, one
    table line per shape. Prints the table, writes ``out_csv``."""
    rows = []
    print(f"\n### {title}: ms fwd / fwd+bwd, peak GiB\n")
    print("| B, D, L | " + " | ".join(configs) + " |")
    print("|---|" + "---|" * len(configs), flush=True)
    for batch, dim, length in shapes:
        args = mamba_inputs(batch, dim, length)
        inputs = list(args.values())
        core, kw = scan_arguments(args)
        cells = []
        for label, config in configs.items():
            cell = guarded(lambda: time_and_memory(
                lambda: selective_scan_triton(*core, **kw, config=config), inputs))
            cells.append(cell)
            rows.append([batch, dim, length, label, cell.fwd_ms, cell.fwdbwd_ms, cell.peak_gib,
                         cell.note])
        print(f"| {batch}, {dim}, {length} | "
              + " | ".join(f"{c.fwd_ms:.3f} / {c.fwdbwd_ms:.3f}, {c.peak_gib:.2f}"
                           for c in cells) + " |", flush=True)
        del args, inputs, core, kw
    with open(out_csv, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["batch", "dim", "length", "config", "fwd_ms", "fwdbwd_ms", "peak_gib",
                         "note"])
        writer.writerows(rows)


def plan_sweep(chunk_counts: list[int], out: str) -> None:
    """Our scan at B1 D1024, 2^9 .. 2^13, with the length split into each of
    ``chunk_counts`` chunks (forward and backward alike; 0: the automatic plan): which plans
    short lengths want (one launch, or the three of a split scan). Writes scan_plans.csv."""
    configs = {f"{c or 'auto'} chunks": ScanConfig(layout="tiles", fwd_chunks=c,
                                                    bwd_chunks=c)
               for c in chunk_counts}
    config_sweep([(1, 1024, length) for length in PLAN_LENGTHS], configs,
                 "our scan by chunks along the length (N16, bf16)",
                 os.path.join(out, "scan_plans.csv"))


def regcap_sweep(caps: list[tuple[int, int]], out: str) -> None:
    """Our scan at REGCAP_SHAPES with its default registers (``ScanConfig()``), then with the
    forward's and the backward's kernels capped at each (forward, backward) register count of
    ``caps`` (0: uncapped; chunk counts follow the registers). Writes scan_regcaps.csv."""
    configs = {"default": ScanConfig(layout="tiles")}
    configs.update({f"fwd {f or '-'}, bwd {b or '-'}": ScanConfig(
        layout="tiles", fwd_max_regs=f, bwd_max_regs=b) for f, b in caps})
    config_sweep(REGCAP_SHAPES, configs, "our scan by register caps a thread (N16, bf16)",
                 os.path.join(out, "scan_regcaps.csv"))


def saved_states_sweep(every: list[int], out: str) -> None:
    """Our scan at SAVED_STATES_SHAPES with the forward saving the state for the backward
    at every n-th tile start, for each n of ``every`` (the backward recomputes the others):
    time against memory. Writes scan_saved_states.csv."""
    configs = {f"every {n} tiles": ScanConfig(layout="tiles", tiles_per_state=n)
               for n in every}
    config_sweep(SAVED_STATES_SHAPES, configs, "our scan by how often it saves states",
                 os.path.join(out, "scan_saved_states.csv"))


def tile_steps_sweep(steps: list[int], out: str) -> None:
    """Our scan at REGCAP_SHAPES with tiles of each of ``steps`` steps; a tile shorter than
    8 steps also with a state saved every 8 steps, as 8-step tiles save (the backward then
    recomputes the tiles between), and as the backward's tile after an 8-step forward.
    Writes scan_tile_steps.csv."""
    configs = {}
    for t in steps:
        configs[f"{t} steps"] = ScanConfig(layout="tiles", block_t=t, bwd_block_t=t)
        if t < 8:
            configs[f"{t} steps, a state every {8 // t} tiles"] = ScanConfig(
                layout="tiles", block_t=t, tiles_per_state=8 // t)
            configs[f"8 steps, the backward in {t}"] = ScanConfig(layout="tiles", block_t=8,
                                                                  bwd_block_t=t)
    config_sweep(REGCAP_SHAPES, configs, "our scan by steps per tile (N16, bf16)",
                 os.path.join(out, "scan_tile_steps.csv"))


def layouts_sweep(out: str) -> None:
    """Our scan at LAYOUT_SHAPES in the tile layout and in the block layout under each of
    LAYOUT_CONFIGS. Writes scan_layouts.csv."""
    config_sweep(LAYOUT_SHAPES, LAYOUT_CONFIGS, "our scan by layout (N16, bf16)",
                 os.path.join(out, "scan_layouts.csv"))


def parse_caps(texts: list[str]) -> list[tuple[int, int]]:
    """"F:B" register caps (forward, backward; 0 uncapped) -> pairs; ValueError on others."""
    low, high = MAX_REGS_RANGE
    caps = []
    for text in texts:
        f, sep, b = text.partition(":")
        try:
            if not sep or not f.isdigit() or not b.isdigit():
                raise ValueError(text)
            for cap in (f, b):
                check_max_regs("a register cap", int(cap))
        except ValueError:
            raise ValueError(f"--regcaps takes FWD:BWD register caps, 0 or {low} .. {high}, "
                             f"got {text!r}") from None
        caps.append((int(f), int(b)))
    return caps


# ----------------------------------------------------------------------------- reporting

IMPLS = ("ours", "mamba_ssm", "attention", "reference")


def fmt(x: float, width: int = 8) -> str:
    if math.isnan(x):
        return "-".rjust(width)
    return (f"{x:.3f}" if x < 100 else f"{x:.0f}").rjust(width)


def ratio(a: float, b: float) -> float:
    return a / b if not (math.isnan(a) or math.isnan(b)) else math.nan


HEADER = (f"{'shape':>12} {'length':>8} | {'fwd ms':>8} {'mamba':>8} {'m/ours':>6} {'attn':>8} "
          f"{'ref':>8} {'floor':>8} | {'f+b ms':>8} {'mamba':>8} {'m/ours':>6} {'attn':>8} "
          f"{'ref':>8} {'floor':>8} | {'peak GiB':>8} {'io GiB':>7} {'pk/io':>5} {'mamba pk':>8}")


def table_line(r: Row) -> str:
    c = r.cells
    return (f"{f'b{r.batch} d{r.dim}':>12} {r.length:>8} | "
            f"{fmt(c['ours'].fwd_ms)} {fmt(c['mamba_ssm'].fwd_ms)} "
            f"{fmt(ratio(c['mamba_ssm'].fwd_ms, c['ours'].fwd_ms), 6)} "
            f"{fmt(c['attention'].fwd_ms)} {fmt(c['reference'].fwd_ms)} {fmt(r.floor_fwd_ms)} | "
            f"{fmt(c['ours'].fwdbwd_ms)} {fmt(c['mamba_ssm'].fwdbwd_ms)} "
            f"{fmt(ratio(c['mamba_ssm'].fwdbwd_ms, c['ours'].fwdbwd_ms), 6)} "
            f"{fmt(c['attention'].fwdbwd_ms)} {fmt(c['reference'].fwdbwd_ms)} "
            f"{fmt(r.floor_fwdbwd_ms)} | {fmt(c['ours'].peak_gib)} {fmt(r.io_gib, 7)} "
            f"{fmt(ratio(c['ours'].peak_gib, r.io_gib), 5)} {fmt(c['mamba_ssm'].peak_gib)}")


def print_notes(rows: list[Row]) -> None:
    notes = sorted({f"{name}: {cell.note}" for r in rows for name, cell in r.cells.items()
                    if cell.note})
    if notes:
        print("skipped cells (shown as '-'): " + "; ".join(notes))
    print("m/ours = mamba_ssm time / our time (> 1: we are faster); floor = HBM bytes / copy "
          "bandwidth; peak = max allocated during one fwd+bwd; io = inputs + y + dy + gradients")


def write_csv(rows: list[Row], path: str) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["batch", "dim", "length", "impl", "fwd_ms", "fwdbwd_ms", "peak_gib", "note",
                    "floor_fwd_ms", "floor_fwdbwd_ms", "io_gib"])
        for r in rows:
            for name in IMPLS:
                c = r.cells[name]
                w.writerow([r.batch, r.dim, r.length, name, c.fwd_ms, c.fwdbwd_ms, c.peak_gib,
                            c.note, r.floor_fwd_ms, r.floor_fwdbwd_ms, r.io_gib])


def write_markdown(rows: list[Row], path: str) -> None:
    """Ours against mamba_ssm as in issue 14: time ratios ours / mamba_ssm (< 1: we are
    faster) and both peaks."""
    lines = ["| B, D, L | fwd ms ours | mamba_ssm | ours/mamba | fwd+bwd ms ours | mamba_ssm "
             "| ours/mamba | peak GiB ours | mamba_ssm |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        o, m = r.cells["ours"], r.cells["mamba_ssm"]
        cells = [o.fwd_ms, m.fwd_ms, ratio(o.fwd_ms, m.fwd_ms), o.fwdbwd_ms, m.fwdbwd_ms,
                 ratio(o.fwdbwd_ms, m.fwdbwd_ms), o.peak_gib, m.peak_gib]
        lines.append(f"| {r.batch}, {r.dim}, {r.length} | "
                     + " | ".join(fmt(x, 0).strip() for x in cells) + " |")
    notes = sorted({f"{name}: {cell.note}" for r in rows for name, cell in r.cells.items()
                    if cell.note and name in ("ours", "mamba_ssm")})
    lines += ["", "bf16 u, delta, z, B, C; softplus, D, z and delta bias on; ours/mamba < 1: ours is "
              "faster; '-': " + ("; ".join(notes) if notes else "not measured")]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def plot(rows: list[Row], path: str) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("# matplotlib not importable: no PNG")
        return
    sweep = [r for r in rows if r.batch == 1]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, title in ((axes[0], "fwd_ms", "forward"), (axes[1], "fwdbwd_ms",
                                                             "forward + backward")):
        for name in IMPLS:
            pts = [(r.length, getattr(r.cells[name], key)) for r in sweep
                   if not math.isnan(getattr(r.cells[name], key))]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=name)
        floor = "floor_fwd_ms" if key == "fwd_ms" else "floor_fwdbwd_ms"
        ax.plot([r.length for r in sweep], [getattr(r, floor) for r in sweep], "k--",
                label="HBM floor")
        ax.set(xscale="log", yscale="log", xlabel="length", ylabel="ms",
               title=f"{title}: batch 1, dim 1024, state 16, bf16")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"# wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=".", help="folder for scan.csv, scan.md and scan.png")
    parser.add_argument("--min-log2", type=int, default=9)
    parser.add_argument("--max-log2", type=int, default=20)
    parser.add_argument("--ref-max-log2", type=int, default=REF_MAX_LOG2,
                        help="longest length (log2) that times the un-fused PyTorch scan")
    parser.add_argument("--no-training-shape", action="store_true")
    parser.add_argument("--plans", type=int, nargs="*", metavar="CHUNKS",
                        help="then time our scan at B1 D1024 with the length cut into each of "
                        "these chunk counts (0: automatic; default 1 2 4 8 0) at 2^9 .. 2^13")
    parser.add_argument("--plans-only", action="store_true", help="only the --plans table")
    parser.add_argument("--regcaps", nargs="*", metavar="FWD:BWD",
                        help="then time our scan with its default registers and with the "
                        "forward's and the backward's kernels capped at these registers a "
                        "thread (0: uncapped; default "
                        f"{' '.join(DEFAULT_REGCAPS)}) at B, D, L = {REGCAP_SHAPES}")
    parser.add_argument("--regcaps-only", action="store_true", help="only the --regcaps table")
    parser.add_argument("--saved-states", type=int, nargs="*", metavar="N",
                        help="then time our scan with the state saved for the backward at every "
                        f"N-th tile start (default {' '.join(map(str, DEFAULT_SAVED_STATES))}) "
                        f"at B, D, L = {SAVED_STATES_SHAPES}, with the peak memory")
    parser.add_argument("--saved-states-only", action="store_true",
                        help="only the --saved-states table")
    parser.add_argument("--tile-steps", type=int, nargs="*", metavar="T",
                        help="then time our scan with tiles of T steps (4 or 8; default "
                        f"{' '.join(map(str, DEFAULT_TILE_STEPS))}) at B, D, L = {REGCAP_SHAPES}")
    parser.add_argument("--tile-steps-only", action="store_true",
                        help="only the --tile-steps table")
    parser.add_argument("--layouts", action="store_true",
                        help="then time our scan in the tile and the block layout at B, D, L = "
                        f"{LAYOUT_SHAPES}")
    parser.add_argument("--layouts-only", action="store_true", help="only the --layouts table")
    opts = parser.parse_args()
    if any(c < 0 for c in opts.plans or []):
        parser.error(f"--plans takes chunk counts >= 0, got {opts.plans}")
    if any(n < 1 for n in opts.saved_states or []):
        parser.error(f"--saved-states takes tile counts >= 1, got {opts.saved_states}")
    saved = ((opts.saved_states or DEFAULT_SAVED_STATES)
             if opts.saved_states is not None or opts.saved_states_only else None)
    if any(t not in (4, 8) for t in opts.tile_steps or []):
        parser.error(f"--tile-steps takes 4 or 8 steps a tile, got {opts.tile_steps}")
    tile_steps = ((opts.tile_steps or DEFAULT_TILE_STEPS)
                  if opts.tile_steps is not None or opts.tile_steps_only else None)
    wants_caps = opts.regcaps is not None or opts.regcaps_only
    try:
        caps = parse_caps(opts.regcaps or DEFAULT_REGCAPS) if wants_caps else None
    except ValueError as err:
        parser.error(str(err))
    if not torch.cuda.is_available():
        sys.exit("benchmarks/scan.py needs a CUDA GPU")
    torch.manual_seed(0)
    peer, peer_note = load_selective_scan_fn()
    bandwidth = copy_bandwidth()
    print(f"# {torch.cuda.get_device_name()}: copy bandwidth {bandwidth / 1e12:.2f} TB/s; "
          f"mamba_ssm {peer_note}", flush=True)
    os.makedirs(opts.out, exist_ok=True)
    plans = (opts.plans or DEFAULT_PLANS) if opts.plans is not None or opts.plans_only else None
    if (opts.plans_only or opts.regcaps_only or opts.saved_states_only or opts.tile_steps_only
            or opts.layouts_only):
        if opts.layouts_only:
            layouts_sweep(opts.out)
        if opts.plans_only:
            plan_sweep(plans, opts.out)
        if opts.regcaps_only:
            regcap_sweep(caps, opts.out)
        if opts.saved_states_only:
            saved_states_sweep(saved, opts.out)
        if opts.tile_steps_only:
            tile_steps_sweep(tile_steps, opts.out)
        return
    shapes = [(1, 1024, 1 << k) for k in range(opts.min_log2, opts.max_log2 + 1)]
    if not opts.no_training_shape:
        shapes += [(8, 1536, 2048), (8, 1536, 8192)]
    print(HEADER)
    print("-" * len(HEADER), flush=True)
    rows = []
    for batch, dim, length in shapes:       # one table line per shape, as soon as it is measured
        rows.append(bench_row(batch, dim, length, bandwidth, peer, peer_note,
                              1 << opts.ref_max_log2))
        print(table_line(rows[-1]), flush=True)
        write_csv(rows, os.path.join(opts.out, "scan.csv"))
        write_markdown(rows, os.path.join(opts.out, "scan.md"))
    print_notes(rows)
    plot(rows, os.path.join(opts.out, "scan.png"))
    if plans is not None:
        plan_sweep(plans, opts.out)
    if caps is not None:
        regcap_sweep(caps, opts.out)
    if saved is not None:
        saved_states_sweep(saved, opts.out)
    if tile_steps is not None:
        tile_steps_sweep(tile_steps, opts.out)
    if opts.layouts:
        layouts_sweep(opts.out)


if __name__ == "__main__":
    main()
