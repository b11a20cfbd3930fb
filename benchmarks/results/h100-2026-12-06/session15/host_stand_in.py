"""Issue 14, session 15: the host time of our block-layout scan on a machine without a GPU,
through the real Launcher's kept-kernel path with the compiled kernel's launcher a no-op
(CPU tensors stand in for CUDA ones; the key, allocations, autograd and the backward's
Python all run). B1 D1024 L512 bf16, gated: us a call of the forward without a graph, the
forward with one, and forward+backward; the least of three 7-round medians.

    PYTHONPATH=. python benchmarks/results/h100-2026-12-06/session15/host_stand_in.py
"""
import sys, time, statistics, types
import torch
import mambaseq.kernels.triton_block_scan as tbs
import mambaseq.kernels.triton_launch as tl_
from mambaseq.kernels.backend import grad_wanted
from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton

tl_._on_cuda = lambda arg: True
tl_._all_on_cuda = lambda tensors: True
torch.cuda.current_device = lambda: 0
tl_.driver = types.SimpleNamespace(active=types.SimpleNamespace(get_current_stream=lambda d: 0))
fake = types.SimpleNamespace(run=lambda *a: None, function=None, packed_metadata=None)
def keep(self, key, grid, args, options, constexprs):
    rest = self.kernel.arg_names[len(args):]
    assert sorted(rest) == sorted(constexprs), (rest, constexprs)
    self.compiled[key] = (fake, tuple(constexprs[n] for n in rest))
tl_.Launcher._launch_and_keep = keep
torch.manual_seed(0)
b, d, l, n = 1, 1024, 512, 16
bf = torch.bfloat16
args = dict(u=torch.randn(b, d, l, dtype=bf), delta=torch.randn(b, d, l).to(bf),
            A=-torch.rand(d, n), B=torch.randn(b, n, l, dtype=bf), C=torch.randn(b, n, l, dtype=bf),
            D=torch.randn(d), z=torch.randn(b, d, l, dtype=bf), delta_bias=torch.randn(d))
for t in args.values(): t.requires_grad_()
cfg = ScanConfig(layout="block")
dout = torch.randn(b, d, l, dtype=bf)
core = [args[k] for k in ("u", "delta", "A", "B", "C")]
kw = dict(D=args["D"], z=args["z"], delta_bias=args["delta_bias"], delta_softplus=True, config=cfg)
def fwd():
    with torch.no_grad():
        return selective_scan_triton(*core, **kw)
def fb():
    for t in args.values(): t.grad = None
    selective_scan_triton(*core, **kw).backward(dout)
def fg():
    return selective_scan_triton(*core, **kw)
if __name__ == "__main__":
    res = {}
    for rep in range(3):
        for name, fn in (("fwd", fwd), ("fwd(graph)", fg), ("fwd+bwd", fb)):
            for _ in range(200): fn()
            rounds = []
            for _ in range(7):
                t0 = time.perf_counter()
                for _ in range(300): fn()
                rounds.append((time.perf_counter() - t0) / 300 * 1e6)
            res.setdefault(name, []).append(statistics.median(rounds))
    for name, v in res.items():
        print(f"{name}: {min(v):.1f} us (medians {', '.join(f'{x:.1f}' for x in v)})")
    print(len(tbs._launch_fwd.compiled), len(tbs._launch_bwd.compiled), "keys")
