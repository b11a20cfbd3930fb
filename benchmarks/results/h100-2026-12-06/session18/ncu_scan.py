"""Session 18: two forward+backward calls of our scan at one shape, for Nsight Compute to
profile the second call's kernels (the first compiles); ``--peer``: mamba_ssm's scan instead.

    ncu -k regex:_block_bwd_kernel --launch-skip 1 --launch-count 1 --set full \
        --import-source yes -o OUT/bwd python3 ncu_scan.py [--peer] BATCH DIM LENGTH"""
import sys

import torch

from benchmarks.scan import mamba_inputs, scan_arguments
from benchmarks.peer import load_selective_scan_fn
from mambaseq.kernels.triton_scan import selective_scan_triton


def main() -> None:
    peer = "--peer" in sys.argv
    batch, dim, length = map(int, [a for a in sys.argv[1:] if a != "--peer"])
    scan = load_selective_scan_fn()[0] if peer else selective_scan_triton
    args = mamba_inputs(batch, dim, length)
    core, kw = scan_arguments(args)
    dout = torch.randn(batch, dim, length, device="cuda", dtype=torch.bfloat16)
    for _ in range(2):
        scan(*core, **kw).backward(dout)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
