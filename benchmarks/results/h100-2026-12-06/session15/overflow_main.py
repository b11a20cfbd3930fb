"""Issue 14, session 15: main's block scan (bfc922e, before WIDE) on u with its channels 2^30
elements apart (the third channel's offset passes 2^31), forward only, against the float64
reference on a contiguous copy. Prints the relative error of each channel, or the error.

    PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session15/overflow_main.py
"""
import torch

from benchmarks.scan_versions import baseline_scan, load_baseline
from mambaseq.kernels.scan_reference import selective_scan_ref
from tests.kernels.test_triton_scan import far_channels, make_inputs

torch.manual_seed(0)
args = make_inputs(1, 3, 100, 4, torch.bfloat16, "cuda")
want = selective_scan_ref(**{k: v.double() for k, v in args.items()}, delta_softplus=True)
scan = baseline_scan(load_baseline(".gpu/triton_block_scan_main.py"))
try:
    with torch.no_grad():
        got = scan(**dict(args, u=far_channels(args["u"])), delta_softplus=True)
    torch.cuda.synchronize()
    for d in range(3):
        err = (got[0, d].double() - want[0, d]).abs().max() / want[0, d].abs().max()
        print(f"channel {d}: relative error {err.item():.2e}")
except Exception as err:     # an illegal address poisons the context: report and stop
    print(f"{type(err).__name__}: {str(err).splitlines()[0]}")
