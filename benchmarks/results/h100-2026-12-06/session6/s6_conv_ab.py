"""Conv forward+backward: the two-kernel backward (this tree) against main's one kernel
(kernels/triton_conv_main.py), and PyTorch's conv, at the shapes the models train at.
bf16 x, float32 weight and bias (autocast's dtypes), SiLU. Milliseconds (do_bench median)."""
import torch
from triton.testing import do_bench
import mambaseq.kernels.triton_conv as new
import mambaseq.kernels.triton_conv_main as old
from mambaseq.kernels.conv_reference import causal_conv1d_ref

print("| shape (B, D, L) | layout | old fwd+bwd ms | new fwd+bwd ms | new / old | torch ms | max |dx new - old| | max |dw| rel diff |")
print("|---|---|---|---|---|---|---|---|")
for batch, dim, length, view in ((8, 1536, 2048, "in_proj slice"), (1024, 256, 1024, "in_proj slice"),
                                 (1, 256, 1 << 20, "in_proj slice"), (8, 1536, 2048, "contiguous")):
    xz = torch.randn(batch, 2 * dim, length, device="cuda", dtype=torch.bfloat16)
    x = (xz[:, :dim] if view == "in_proj slice" else xz[:, :dim].contiguous()).requires_grad_()
    w = (torch.randn(dim, 4, device="cuda") / 4).requires_grad_()
    b = torch.randn(dim, device="cuda").requires_grad_()
    dy = torch.randn(batch, dim, length, device="cuda", dtype=torch.bfloat16)
    res = {}
    for name, fn in (("old", old.causal_conv1d_triton), ("new", new.causal_conv1d_triton),
                     ("torch", causal_conv1d_ref)):
        def run(fn=fn):
            return torch.autograd.grad(fn(x, w, b, "silu"), (x, w, b), dy)
        grads = run()
        res[name] = (do_bench(run), grads)
    dx = (res["new"][1][0].float() - res["old"][1][0].float()).abs().max().item()
    dw = ((res["new"][1][1] - res["old"][1][1]).abs().max() / res["old"][1][1].abs().max()).item()
    print(f"| {batch}, {dim}, {length} | {view} | {res['old'][0]:.3f} | {res['new'][0]:.3f} | "
          f"{res['new'][0] / res['old'][0]:.2f} | {res['torch'][0]:.3f} | {dx:.2e} | {dw:.2e} |", flush=True)
    del xz, x, dy, res
    torch.cuda.empty_cache()
