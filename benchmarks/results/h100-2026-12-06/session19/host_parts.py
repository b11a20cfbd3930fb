"""Session 19: where a short scan's forward+backward spends its host time, by part, for
block-scan versions and mamba_ssm, at B1 D1024 L512 bf16 (the scan table's first row).

Each call: t0 before the scan, the forward function's entry and exit, t1 after the scan
returns, the backward function's entry and exit, t4 after ``.backward()`` returns. Inside
our versions, the module functions named in PARTS are timed by wrappers put in their
module's globals (the code itself is not copied). Medians of 300 calls without a sync (the
GPU is never behind at this length); the no-graph forward alone first.

    PYTHONPATH=/tmp/site:$ROOT python3 host_parts.py [--rounds R] LABEL=FILE ...   (FILE "."
    for this checkout's kernels/triton_block_scan.py)

--rounds (session 20): R rounds, the versions (and mamba_ssm) in turn in each, 300 calls a
version a round; each part's least median over the rounds."""
import argparse
import functools
import statistics
import time
from collections import defaultdict

import torch

from benchmarks.peer import load_selective_scan_fn, peer_module
from benchmarks.scan import mamba_inputs, scan_arguments
from benchmarks.scan_versions import load_baseline
from mambaseq.kernels import triton_block_scan
from mambaseq.kernels.backend import grad_wanted
from mambaseq.kernels.triton_scan import ScanConfig

clock = time.perf_counter
PARTS = ("_kernel_inputs", "_block_forward", "_early_sums", "_gradient_sums", "_channel_rows",
         "_launch_fwd", "_launch_bwd", "_as", "_backward_buffers")
marks: dict[str, list[float]] = defaultdict(list)
stamp: dict[str, float] = {}


def timed(name, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = clock()
        out = fn(*args, **kwargs)
        marks[name].append(clock() - t)
        return out
    return wrapper


def wrap_function(fn_cls):
    forward, backward = fn_cls.forward, fn_cls.backward

    def timed_forward(ctx, *args):
        stamp["f0"] = clock()
        out = forward(ctx, *args)
        stamp["f1"] = clock()
        return out

    def timed_backward(ctx, *grads):
        stamp["t2"] = clock()
        out = backward(ctx, *grads)
        stamp["t3"] = clock()
        return out
    fn_cls.forward, fn_cls.backward = staticmethod(timed_forward), staticmethod(timed_backward)


def block_scan(module):
    config = ScanConfig(layout="block")

    def scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
        needs_grad = grad_wanted(u, delta, A, B, C, D, z, delta_bias)
        return module.selective_scan_block(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                           None, needs_grad, config)[0]
    return scan


def timeline(label, scan, core, kw, inputs, dout, reps=300):
    rows = defaultdict(list)
    with torch.no_grad():
        for i in range(reps + 30):
            t0 = clock()
            scan(*core, **kw)
            if i >= 30:
                rows["forward, no graph"].append(clock() - t0)
    marks.clear()
    for i in range(reps + 30):
        for g in inputs:
            g.grad = None
        t0 = clock()
        y = scan(*core, **kw)
        t1 = clock()
        y.backward(dout)
        t4 = clock()
        if i >= 30:
            rows["forward with graph"].append(t1 - t0)
            rows["  to the forward function"].append(stamp["f0"] - t0)
            rows["  the forward function"].append(stamp["f1"] - stamp["f0"])
            rows["  its exit to return"].append(t1 - stamp["f1"])
            rows["engine: backward() to the backward function"].append(stamp["t2"] - t1)
            rows["the backward function"].append(stamp["t3"] - stamp["t2"])
            rows["engine: its exit to return"].append(t4 - stamp["t3"])
            rows["total with graph"].append(t4 - t0)
    torch.cuda.synchronize()
    out = {name: statistics.median(v) * 1e6 for name, v in rows.items()}
    calls = reps + 30
    for name, v in marks.items():
        per_call = len(v) // calls     # e.g. _as: several a backward
        out[f"    {name} (x{per_call})"] = statistics.median(v) * 1e6 * per_call
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("versions", nargs="+", help="LABEL=FILE of a triton_block_scan.py")
    opts = parser.parse_args()
    args = mamba_inputs(1, 1024, 512)
    inputs = list(args.values())
    core, kw = scan_arguments(args)
    dout = torch.randn(1, 1024, 512, device="cuda", dtype=torch.bfloat16)
    scans = {}
    for spec in opts.versions:
        label, _, path = spec.partition("=")
        module = triton_block_scan if path == "." else load_baseline(path)
        for name in PARTS:
            if hasattr(module, name):
                setattr(module, name, timed(name, getattr(module, name)))
        wrap_function(module._BlockScanFn)
        scans[label] = block_scan(module)
    peer, note = load_selective_scan_fn()
    if peer is None:
        print("mamba_ssm:", note)
    else:
        wrap_function(peer_module(None, "ops.selective_scan_interface").SelectiveScanFn)
        scans["mamba_ssm"] = peer
    columns: dict[str, dict[str, float]] = {}
    for _ in range(opts.rounds):
        for label, scan in scans.items():
            parts = timeline(label, scan, core, kw, inputs, dout)
            best = columns.setdefault(label, parts)
            for name, value in parts.items():
                best[name] = min(best.get(name, value), value)
    names = list(dict.fromkeys(n for c in columns.values() for n in c))
    print(f"# {torch.cuda.get_device_name()}: host us a call at B1 D1024 L512 bf16, "
          f"median of 300, least of {opts.rounds} rounds\n")
    print("| part | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name in names:
        print(f"| {name} | " + " | ".join(f"{c[name]:.1f}" if name in c else "-"
                                         for c in columns.values()) + " |")


if __name__ == "__main__":
    main()
