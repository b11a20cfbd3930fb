"""Session 17, call 1: the block scan with two channels a program against main's block file
and against itself with one channel a program, in one process, rounds alternating.

    PYTHONPATH=/tmp/site:$ROOT python3 variants.py [--rounds 2]

Versions: main (main's kernels/triton_block_scan.py, .gpu/triton_block_scan_main.py), "2ch"
(this checkout: two channels a program, chunks of 1,024 steps, 4 warps), "1ch" (this
checkout with MAX_CHANNELS = 1: chunks of 2,048 steps, 4 warps, as main), "2ch 2048/8w"
(two channels, chunks of 2,048 steps, 8 warps). Prints fwd and fwd+bwd ms (best round) and
each version's time over main's."""
import argparse
import functools

import torch

from benchmarks.scan import mamba_inputs, scan_arguments, time_and_memory
from benchmarks.scan_versions import baseline_scan, best, load_baseline
from mambaseq.kernels import triton_block_scan
from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton

SHAPES = [(1, 1024, 8192), (1, 1024, 65536), (1, 1024, 1 << 20), (8, 1536, 2048),
          (8, 1536, 8192)]


def with_channels(channels: int, config: ScanConfig):
    def scan(*args, **kw):
        triton_block_scan.MAX_CHANNELS = channels
        try:
            return selective_scan_triton(*args, **kw, config=config)
        finally:
            triton_block_scan.MAX_CHANNELS = 2
    return scan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    opts = parser.parse_args()
    block = ScanConfig(layout="block")
    versions = {"main": baseline_scan(load_baseline(".gpu/triton_block_scan_main.py")),
                "2ch": with_channels(2, block), "1ch": with_channels(1, block),
                "2ch 2048/8w": with_channels(2, ScanConfig(layout="block", block_l=2048,
                                                           block_fwd_warps=8,
                                                           block_bwd_warps=8))}
    print(f"# {torch.cuda.get_device_name()}")
    print("| B, D, L | " + " | ".join(f"{v} fwd / fwd+bwd ms" for v in versions)
          + " | " + " | ".join(f"{v} / main" for v in list(versions)[1:]) + " |")
    print("|---" * (2 * len(versions)) + "|")
    for batch, dim, length in SHAPES:
        args = mamba_inputs(batch, dim, length)
        inputs = list(args.values())
        core, kw = scan_arguments(args)
        cells = {v: [] for v in versions}
        for _ in range(opts.rounds):
            for label, scan in versions.items():
                cells[label].append(time_and_memory(functools.partial(scan, *core, **kw),
                                                    inputs))
        got = {v: best(c) for v, c in cells.items()}
        m = got["main"]
        print(f"| {batch}, {dim}, {length} | "
              + " | ".join(f"{c.fwd_ms:.3f} / {c.fwdbwd_ms:.3f}" for c in got.values()) + " | "
              + " | ".join(f"{c.fwd_ms / m.fwd_ms:.3f} / {c.fwdbwd_ms / m.fwdbwd_ms:.3f}"
                           for v, c in got.items() if v != "main") + " |", flush=True)
        del args, inputs, core, kw
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
