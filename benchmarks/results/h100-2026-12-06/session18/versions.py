"""Session 18 (session 17's, with the backward's register cap and the warps; --shapes from
session 19): block-scan versions against the first, in one process, rounds alternating.

    PYTHONPATH=/tmp/site:$ROOT python3 versions.py --rounds 2 [--shapes 1,1024,512 ...] \
        LABEL=FILE[@fwd_regs[,bwd_regs]][+steps[,fwd_warps,bwd_warps]] ...

FILE: a kernels/triton_block_scan.py of another version ("." for this checkout's); the first
is the baseline. @fwd_regs,bwd_regs: register caps (ScanConfig.fwd_max_regs, bwd_max_regs);
+steps,fwd_warps,bwd_warps: chunks of that many steps in those warps (ScanConfig.block_l,
block_fwd_warps, block_bwd_warps; 4 and 4 where not given). Prints fwd and fwd+bwd ms (each
version's best round) and each version's time over the first's."""
import argparse
import functools

import torch

from benchmarks.scan import mamba_inputs, scan_arguments, time_and_memory
from benchmarks.scan_versions import best, load_baseline
from mambaseq.kernels import triton_block_scan
from mambaseq.kernels.backend import grad_wanted
from mambaseq.kernels.triton_scan import ScanConfig

SHAPES = [(1, 1024, 8192), (1, 1024, 65536), (1, 1024, 1 << 20), (8, 1536, 2048),
          (8, 1536, 8192)]


def version(spec: str):
    label, _, rest = spec.partition("=")
    rest, _, steps = rest.partition("+")
    path, _, regs = rest.partition("@")
    module = triton_block_scan if path == "." else load_baseline(path)
    steps, fwd_warps, bwd_warps = (list(map(int, steps.split(","))) + [4, 4])[:3] if steps \
        else (0, 0, 0)
    chunks = dict(block_l=steps, block_fwd_warps=fwd_warps, block_bwd_warps=bwd_warps)
    fwd_regs, bwd_regs = (list(map(int, regs.split(","))) + [0])[:2] if regs else (0, 0)
    config = ScanConfig(layout="block", fwd_max_regs=fwd_regs or None, bwd_max_regs=bwd_regs,
                        **chunks)

    def scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
        needs_grad = grad_wanted(u, delta, A, B, C, D, z, delta_bias)
        return module.selective_scan_block(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                           None, needs_grad, config)[0]
    return label, scan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=0)
    parser.add_argument("--shapes", nargs="*", metavar="B,D,L",
                        help="shapes instead of SHAPES (B,D,L; inputs as in SHAPES)")
    parser.add_argument("versions", nargs="+")
    opts = parser.parse_args()
    versions = dict(version(v) for v in opts.versions)
    first = next(iter(versions))
    print(f"# {torch.cuda.get_device_name()}; versions {opts.versions}")
    print("| B, D, L | " + " | ".join(f"{v} fwd / fwd+bwd ms" for v in versions)
          + " | " + " | ".join(f"{v} / {first}" for v in list(versions)[1:]) + " |")
    print("|---" * (2 * len(versions)) + "|")
    shapes = [tuple(map(int, s.split(","))) for s in opts.shapes] if opts.shapes else SHAPES
    for batch, dim, length in shapes:
        if opts.max_length and length > opts.max_length:
            continue
        args = mamba_inputs(batch, dim, length)
        inputs = list(args.values())
        core, kw = scan_arguments(args)
        cells = {v: [] for v in versions}
        for _ in range(opts.rounds):
            for label, scan in versions.items():
                cells[label].append(time_and_memory(functools.partial(scan, *core, **kw),
                                                    inputs))
        got = {v: best(c) for v, c in cells.items()}
        m = got[first]
        print(f"| {batch}, {dim}, {length} | "
              + " | ".join(f"{c.fwd_ms:.3f} / {c.fwdbwd_ms:.3f}" for c in got.values()) + " | "
              + " | ".join(f"{c.fwd_ms / m.fwd_ms:.3f} / {c.fwdbwd_ms / m.fwdbwd_ms:.3f}"
                           for v, c in got.items() if v != first) + " |", flush=True)
        del args, inputs, core, kw
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
