"""Our scan kernels against another version of them, side by side in one process: is a kernel
change faster? (and mamba_ssm's kernel beside both, when it is built).

The baseline is a copy of ``kernels/triton_scan.py`` (the tile layout, and the dispatch) or of
``kernels/triton_block_scan.py`` (the block layout) from another commit, loaded as the module
``mambaseq.kernels.triton_scan_baseline`` (its relative imports resolve inside this checkout):

    git show ef585c0:kernels/triton_scan.py > /tmp/triton_scan_ef585c0.py
    python -m benchmarks.scan_versions /tmp/triton_scan_ef585c0.py [--rounds 2] [--out DIR]
    git show main:kernels/triton_block_scan.py > /tmp/triton_block_scan_main.py
    python -m benchmarks.scan_versions /tmp/triton_block_scan_main.py [--max-length 65536]

A block-layout baseline runs every shape in the block layout; "ours" is then this checkout's
scan in the layout its dispatch picks ("auto": the block layout at these shapes on an H100).

At the shapes of ``benchmarks/scan.py``'s acceptance rows (bf16 inputs, N 16): forward and
forward+backward ms (median of CUDA-event timed calls) and the peak GiB of one
forward+backward, for mamba_ssm once, then baseline and ours alternating ``--rounds`` times
(alternation spreads clock and thermal drift over both). The table shows each version's best
round and ours / baseline; scan_versions.csv keeps every round.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import types
from typing import Callable

import torch

from benchmarks.peer import load_selective_scan_fn
from benchmarks.scan import Cell, guarded, mamba_inputs, scan_arguments, time_and_memory
from mambaseq.kernels.backend import grad_wanted
from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton

BASELINE_MODULE = "mambaseq.kernels.triton_scan_baseline"
SCAN_ENTRIES = ("selective_scan_triton", "selective_scan_block")
SHAPES = [(1, 1024, 1 << k) for k in (9, 11, 13, 16, 20)] + [(8, 1536, 2048), (8, 1536, 8192)]


def load_baseline(path: str) -> types.ModuleType:
    """The scan module in ``path`` (a ``kernels/triton_scan.py`` of another commit), imported as
    BASELINE_MODULE. ValueError naming the file when it is missing, fails to import or has no
    ``selective_scan_triton``."""
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file (a kernels/triton_scan.py of another commit)")
    spec = importlib.util.spec_from_file_location(BASELINE_MODULE, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[BASELINE_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[BASELINE_MODULE]
        raise ValueError(f"{path}: does not import as a scan module: {err}") from None
    if not any(callable(getattr(module, name, None)) for name in SCAN_ENTRIES):
        del sys.modules[BASELINE_MODULE]
        raise ValueError(f"{path}: defines neither {' nor '.join(SCAN_ENTRIES)}")
    return module


def baseline_scan(module: types.ModuleType) -> Callable:
    """The baseline module's scan with ``selective_scan_triton``'s signature: that function
    itself, or the block layout's ``selective_scan_block`` called as the dispatch calls it."""
    if callable(getattr(module, "selective_scan_triton", None)):
        return module.selective_scan_triton

    def scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
             initial_state=None, return_final_state=False):
        needs_grad = grad_wanted(u, delta, A, B, C, D, z, delta_bias, initial_state)
        y, final = module.selective_scan_block(u, delta, A, B, C, D, z, delta_bias,
                                               delta_softplus, initial_state, needs_grad,
                                               ScanConfig(layout="block"))
        return (y, final) if return_final_state else y
    return scan


def best(cells: list[Cell]) -> Cell:
    """The fastest round: least forward and least forward+backward time, largest peak."""
    measured = [c for c in cells if not c.note] or cells
    return Cell(min(c.fwd_ms for c in measured), min(c.fwdbwd_ms for c in measured),
                max(c.peak_gib for c in measured), measured[0].note)


def cell_text(cell: Cell) -> str:
    return cell.note or f"{cell.fwd_ms:.3f} / {cell.fwdbwd_ms:.3f}, {cell.peak_gib:.2f}"


def measure_shape(batch: int, dim: int, length: int, versions: dict[str, Callable],
                  rounds: int, peer: Callable | None) -> dict[str, list[Cell]]:
    """Every round of every version at one shape: version label -> cells."""
    args = mamba_inputs(batch, dim, length)
    inputs = list(args.values())
    core, kw = scan_arguments(args)
    cells: dict[str, list[Cell]] = {label: [] for label in versions}
    if peer is not None:
        cells["mamba_ssm"] = [guarded(lambda: time_and_memory(lambda: peer(*core, **kw), inputs))]
    for _ in range(rounds):
        for label, scan in versions.items():
            cells[label].append(guarded(lambda: time_and_memory(lambda: scan(*core, **kw),
                                                                inputs)))
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", help="a kernels/triton_scan.py or kernels/triton_block_scan.py "
                        "of another commit")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (>= 1)")
    parser.add_argument("--out", default=".", help="folder for scan_versions.csv")
    parser.add_argument("--max-length", type=int, default=0,
                        help="only the shapes up to this length (0: all; 65536 leaves out the "
                        "2^20 row, about half the run)")
    opts = parser.parse_args()
    if opts.rounds < 1:
        parser.error(f"--rounds takes 1 or more, got {opts.rounds}")
    if opts.max_length < 0:
        parser.error(f"--max-length takes 0 (all) or a length, got {opts.max_length}")
    shapes = [s for s in SHAPES if not opts.max_length or s[2] <= opts.max_length]
    try:
        baseline = load_baseline(opts.baseline)
    except ValueError as err:
        parser.error(str(err))
    if not torch.cuda.is_available():
        sys.exit("benchmarks/scan_versions.py needs a CUDA GPU")
    versions = {"baseline": baseline_scan(baseline), "ours": selective_scan_triton}
    peer, peer_note = load_selective_scan_fn()
    print(f"# {torch.cuda.get_device_name()}; baseline {opts.baseline}; mamba_ssm {peer_note}")
    print("# ms forward / forward+backward, peak GiB; best of the rounds\n")
    print("| B, D, L | mamba_ssm | baseline | ours | ours / baseline fwd, fwd+bwd |")
    print("|---|---|---|---|---|", flush=True)
    os.makedirs(opts.out, exist_ok=True)
    rows = []
    torch.manual_seed(0)
    for batch, dim, length in shapes:
        torch.cuda.empty_cache()
        cells = measure_shape(batch, dim, length, versions, opts.rounds, peer)
        base, ours = best(cells["baseline"]), best(cells["ours"])
        peer_text = cell_text(cells["mamba_ssm"][0]) if "mamba_ssm" in cells else peer_note
        print(f"| {batch}, {dim}, {length} | {peer_text} | {cell_text(base)} | {cell_text(ours)} "
              f"| {ours.fwd_ms / base.fwd_ms:.3f}, {ours.fwdbwd_ms / base.fwdbwd_ms:.3f} |",
              flush=True)
        for label, label_cells in cells.items():
            rows += [[batch, dim, length, label, i, c.fwd_ms, c.fwdbwd_ms, c.peak_gib, c.note]
                     for i, c in enumerate(label_cells)]
        with open(os.path.join(opts.out, "scan_versions.csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["batch", "dim", "length", "version", "round", "fwd_ms", "fwdbwd_ms",
                             "peak_gib", "note"])
            writer.writerows(rows)


if __name__ == "__main__":
    main()
