"""The products of a decoding step: cuBLAS (``F.linear``) against the weight-streaming
Triton kernel (``kernels.triton_linear``) at the shapes of the 130M and 1.4B LMs' steps, and
Δ's product with the state update, separate or fused (``kernels.triton_step``).

Each product runs once for each of 48 distinct weight matrices (as the 48 layers of a step
do, so no weight is served from L2), captured in one CUDA graph; the first table gives
microseconds a product and the weight bytes read per second, and the split-depth kernel
(``decode_linear_split_triton``, meant for the narrow x_proj) beside both. The Δ row is a bf16 code
times a bf16 matrix into float32: cuBLAS casts the code and multiplies in float32 (the
step before the Triton kernel), Triton reads the 16-bit values and sums in float32. The
second table times Δ's product and the state update of the 1.4B LM (d_inner 4096, rank
128, N 16) per layer, three ways: cast + float32 cuBLAS + the state kernel; Triton's product
+ the state kernel; the state kernel given the code (what sets ``FUSED_MAX_ROWS``).
Prints Markdown tables; ``--out`` also writes decode_linear.csv and decode_state.csv. CUDA
only.

    python -m benchmarks.decode_linear [--batches 1 16 64 128] [--out DIR]
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from mambaseq.pipelines.evaluation.reports import markdown_table, write_csv

LAYERS = 48
# name: (K, N) of y = x @ W^T, W (N, K); d_model 768 / 2048, d_inner 1536 / 4096
SHAPES = {"130M in_proj": (768, 3072), "130M x_proj": (1536, 80), "130M out_proj": (1536, 768),
          "1.4B in_proj": (2048, 8192), "1.4B x_proj": (4096, 160),
          "1.4B delta (fp32 out)": (128, 4096), "1.4B out_proj": (4096, 2048)}


def graph_us(calls: list[Callable[[], object]], repeats: int = 20) -> float:
    """Microseconds per call when ``calls`` replay as one CUDA graph (best of 3 timings)."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):             # compile and autotune before capture
        for call in calls:
            call()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for call in calls:
            call()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = float("inf")
    for _ in range(3):
        graph.replay()
        start.record()
        for _ in range(repeats):
            graph.replay()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) * 1e3 / repeats / len(calls))
    return best


def measure(name: str, depth: int, cols: int, batch: int) -> dict:
    from mambaseq.kernels.triton_linear import decode_linear_split_triton, decode_linear_triton
    weights = [torch.randn(cols, depth, device="cuda", dtype=torch.bfloat16) / depth ** 0.5
               for _ in range(LAYERS)]
    x = torch.randn(batch, depth, device="cuda", dtype=torch.bfloat16)
    out_dtype = torch.float32 if "fp32 out" in name else None
    if out_dtype is None:
        cublas = [lambda w=w: F.linear(x, w) for w in weights]
    else:
        cublas = [lambda w=w: F.linear(x.float(), w.float()) for w in weights]
    triton = [lambda w=w: decode_linear_triton(x, w, out_dtype=out_dtype) for w in weights]
    err = (decode_linear_triton(x, weights[0], out_dtype=out_dtype).double()
           - F.linear(x.double(), weights[0].double())).abs().max().item()
    split = [lambda w=w: decode_linear_split_triton(x, w, out_dtype=out_dtype) for w in weights]
    us_cublas, us_triton, us_split = graph_us(cublas), graph_us(triton), graph_us(split)
    gbytes = cols * depth * 2 / 1e9
    return {"shape": name, "K": depth, "N": cols, "batch": batch,
            "cublas_us": round(us_cublas, 2), "triton_us": round(us_triton, 2),
            "split_us": round(us_split, 2), "cublas_TB_s": round(gbytes / us_cublas * 1e3, 2),
            "triton_TB_s": round(gbytes / us_triton * 1e3, 2),
            "speedup": round(us_cublas / us_triton, 2),
            "split_speedup": round(us_cublas / us_split, 2), "max_abs_err": f"{err:.1e}"}


def measure_state(batch: int, dim: int = 4096, rank: int = 128, nstate: int = 16) -> dict:
    """us per layer of Δ's product and the state update, three ways (see the module doc);
    "fused" runs the state kernel with the code at every batch (FUSED_MAX_ROWS lifted)."""
    from mambaseq.kernels import triton_step
    from mambaseq.kernels.triton_linear import decode_linear_triton
    step = triton_step.selective_state_update_triton
    cuda = dict(device="cuda")
    states = [torch.zeros(batch, dim, nstate, **cuda) for _ in range(LAYERS)]
    weights = [torch.randn(dim, rank, **cuda, dtype=torch.bfloat16) / rank ** 0.5
               for _ in range(LAYERS)]
    proj = torch.randn(batch, rank + 2 * nstate, **cuda, dtype=torch.bfloat16)
    code, B, C = proj.split([rank, nstate, nstate], dim=1)
    x, z = (torch.randn(batch, dim, **cuda, dtype=torch.bfloat16) for _ in range(2))
    rest = dict(A=-torch.rand(dim, nstate, **cuda), B=B, C=C, D=torch.randn(dim, **cuda), z=z,
                delta_bias=torch.randn(dim, **cuda), delta_softplus=True)
    ways = {
        "cast + float32 cuBLAS + state":
            lambda s, w: step(s, x, F.linear(code.float(), w.float()), **rest),
        "Triton product + state":
            lambda s, w: step(s, x, decode_linear_triton(code, w, out_dtype=torch.float32), **rest),
        "fused": lambda s, w: step(s, x, code, dt_weight=w, **rest)}
    row, threshold = {"batch": batch}, triton_step.FUSED_MAX_ROWS
    try:
        triton_step.FUSED_MAX_ROWS = batch
        for name, way in ways.items():
            row[f"{name} us"] = round(graph_us([lambda s=s, w=w: way(s, w)
                                                for s, w in zip(states, weights)]), 2)
    finally:
        triton_step.FUSED_MAX_ROWS = threshold
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16, 64, 128])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if any(batch < 1 for batch in args.batches):
        parser.error(f"--batches takes row counts >= 1, got {args.batches}")
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/decode_linear.py: needs a CUDA GPU")
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    rows = []
    for name, (depth, cols) in SHAPES.items():
        for batch in args.batches:
            rows.append(measure(name, depth, cols, batch))
            print(" ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
    print("\n" + markdown_table(rows))
    state_rows = [measure_state(batch) for batch in args.batches]
    print("\n" + markdown_table(state_rows))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(args.out / "decode_linear.csv", rows)
        write_csv(args.out / "decode_state.csv", state_rows)


if __name__ == "__main__":
    main()
