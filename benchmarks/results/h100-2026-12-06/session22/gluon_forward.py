"""Session 22: the block forward written in Gluon (Triton's dialect where layouts are set),
each thread holding SPT adjacent steps of a chunk of SPT x 32 x WARPS steps, so one scan
across the lanes covers 16 (or 32) steps where Triton's layout of a bf16 chunk (8-step
vectors wrapping round the threads) scans every 8. The benchmark's case only: contiguous
(batch, dim, length) bf16 u, delta, z; B, C (batch, state, length) bf16; float32 A, D, delta
bias; softplus; no initial state; the length a whole number of chunks; every chunk's start
state stored, as for the backward. Not a kernel of the product (the interpreter does not run
Gluon, so the product's rule of a CPU test under it cannot hold for one).

    stats SPT WARPS ROWS          compile for sm_90 (no GPU needed): the loop over states'
                                  instructions, registers, commonest opcodes
    times B,D,L ... [SPT,WARPS,ROWS]   on a GPU: y and the final state against the
                                  product's block scan, and both forwards' kernel GPU time
                                  (torch.profiler, 10 calls)

ROWS channels a program share each B_t and C_t load (as block-forward.patch's).

    PYTHONPATH=. python3 benchmarks/results/h100-2026-12-06/session22/gluon_forward.py stats 16 4 1
"""
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.experimental import gluon
from triton.experimental.gluon import language as gl
from triton.experimental.gluon._runtime import GluonASTSource

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(Path(__file__).resolve().parent))     # kdiag.py: kernel times
import kernel_stats as ks  # noqa: E402  (benchmarks/kernel_stats.py: cuobjdump, the loop)

LOG2E = gl.constexpr(1.4426950408889634)
LN2 = gl.constexpr(0.6931471805599453)


@gluon.jit
def _combine(a1, b1, a2, b2):
    return a1 * a2, a2 * b1 + b2


@gluon.jit
def _widen(x):
    """bf16 -> float32 by shifting its bits into a float32's upper half."""
    return (x.to(gl.uint16, bitcast=True).to(gl.uint32) << 16).to(gl.float32, bitcast=True)


@gluon.jit
def _gluon_forward(u_ptr, delta_ptr, z_ptr, y_ptr, A_ptr, B_ptr, C_ptr, D_ptr, bias_ptr,
                   final_ptr, hstart_ptr, dim, length, n_chunks, STATE: gl.constexpr,
                   SPT: gl.constexpr, WARPS: gl.constexpr, ROWS: gl.constexpr):
    BLOCK_L: gl.constexpr = SPT * 32 * WARPS
    K: gl.constexpr = BLOCK_L // SPT
    # (ROWS, BLOCK_L): each thread SPT adjacent steps of every channel of the program
    steps: gl.constexpr = gl.BlockedLayout([ROWS, SPT], [1, 32], [1, WARPS], [1, 0])
    # (ROWS, K, SPT): a thread's steps as one row of K
    runs: gl.constexpr = gl.BlockedLayout([ROWS, 1, SPT], [1, 32, 1], [1, WARPS, 1], [2, 1, 0])
    ends: gl.constexpr = gl.SliceLayout(2, runs)
    p = gl.program_id(0)
    b = gl.program_id(1)
    d = p * ROWS + gl.arange(0, ROWS, layout=gl.SliceLayout(1, steps))    # (ROWS,)
    channel = (b * dim + d).to(gl.int64)
    act = (channel * length)[:, None]           # the channels' rows of u, delta, z, y
    bc = b.to(gl.int64) * STATE * length        # the batch row of B and C
    offs = gl.arange(0, BLOCK_L, layout=gl.SliceLayout(0, steps))
    first = (offs == 0)[None, :]
    col = gl.arange(0, SPT, layout=gl.SliceLayout(0, gl.SliceLayout(1, runs)))
    k = gl.arange(0, K, layout=gl.SliceLayout(0, ends))
    d_ends = p * ROWS + gl.arange(0, ROWS, layout=gl.SliceLayout(1, ends))
    carry_ends = final_ptr + ((b * dim + d_ends).to(gl.int64) * STATE)[:, None] + k[None, :] * 0
    zero_ends = gl.zeros([ROWS, K], gl.float32, ends)
    bias = gl.load(bias_ptr + d)[:, None]
    Dv = gl.load(D_ptr + d)[:, None]
    carry = final_ptr + channel * STATE                                    # (ROWS,)
    for s in gl.static_range(STATE):
        gl.store(carry_ends + s, zero_ends, mask=(k == 0)[None, :])
    for chunk in range(n_chunks):
        gl.thread_barrier()         # the carries written in the last chunk are visible
        t = chunk * BLOCK_L + offs
        u = gl.load(u_ptr + act + t[None, :]).to(gl.float32)
        raw = gl.load(delta_ptr + act + t[None, :]).to(gl.float32) + bias
        dt = gl.maximum(raw, 0.0) + gl.log2(1.0 + gl.exp(-gl.abs(raw))) * LN2
        dtu = dt * u
        y = Dv * u
        hstart = hstart_ptr + ((b * n_chunks + chunk) * dim + d).to(gl.int64) * STATE
        for n in range(STATE):
            h_start = gl.load(carry + n)                                   # (ROWS,)
            gl.store(hstart + n, h_start)
            Bt = _widen(gl.load(B_ptr + bc + n * length + t))[None, :]
            Ct = _widen(gl.load(C_ptr + bc + n * length + t))[None, :]
            a = gl.exp2(dt * (gl.load(A_ptr + d * STATE + n) * LOG2E)[:, None])
            bb = dtu * Bt + gl.where(first, a * h_start[:, None], 0.0)
            _, h = gl.associative_scan((a, bb), 1, _combine)
            y += Ct * h
            by_thread = gl.convert_layout(gl.reshape(h, (ROWS, K, SPT)), runs,
                                          assert_trivial=True)
            last = gl.max(gl.where((col == SPT - 1)[None, None, :], by_thread, float("-inf")),
                          2)
            gl.store(carry_ends + n, last, mask=(k == K - 1)[None, :])
        z = gl.load(z_ptr + act + t[None, :]).to(gl.float32)
        y = y * z / (1.0 + gl.exp(-z))
        gl.store(y_ptr + act + t[None, :], y.to(gl.bfloat16))


SIGNATURE = dict(u_ptr="*bf16", delta_ptr="*bf16", z_ptr="*bf16", y_ptr="*bf16", A_ptr="*fp32",
                 B_ptr="*bf16", C_ptr="*bf16", D_ptr="*fp32", bias_ptr="*fp32",
                 final_ptr="*fp32", hstart_ptr="*fp32", dim="i32", length="i32",
                 n_chunks="i32", STATE="constexpr", SPT="constexpr", WARPS="constexpr",
                 ROWS="constexpr")


def stats(spt: int, warps: int, rows: int) -> None:
    names = _gluon_forward.arg_names
    consts = dict(STATE=16, SPT=spt, WARPS=warps, ROWS=rows)
    attrs = {(i,): [["tt.divisibility", 16]] for i, n in enumerate(names)
             if SIGNATURE[n] != "constexpr"}
    source = GluonASTSource(fn=_gluon_forward, signature=SIGNATURE, attrs=attrs,
                            constexprs={(names.index(k),): v for k, v in consts.items()})
    compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32),
                              options=dict(num_warps=warps))
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(compiled.asm["cubin"])
        f.flush()
        sass, usage = (subprocess.run([str(ks.CUOBJDUMP), flag, f.name], capture_output=True,
                                      text=True, check=True).stdout
                       for flag in ("-sass", "--dump-resource-usage"))
    loop = ks.innermost_loop(sass)
    regs, stack = (usage.split(f"{key}:")[1].split()[0] for key in ("REG", "STACK"))
    print(f"{rows} channels, {spt} steps a thread, {warps} warps, {spt * 32 * warps}-step "
          f"chunks: loop {len(loop)}, registers {regs}, stack {stack}, "
          f"{sorted(Counter(loop).items(), key=lambda kv: -kv[1])[:12]}")


def gluon_scan(u, delta, A, B, C, D, z, delta_bias, spt: int, warps: int, rows: int):
    """y, final state, chunk start states of the Gluon forward (the module docstring's case)."""
    import torch
    batch, dim, length = u.shape
    block_l = spt * 32 * warps
    if length % block_l:
        raise ValueError(f"length {length} is not a whole number of {block_l}-step chunks")
    n_chunks, state = length // block_l, A.shape[1]
    y = torch.empty_like(u)
    final = torch.empty(batch, dim, state, device=u.device, dtype=torch.float32)
    hstart = torch.empty(batch, n_chunks, dim, state, device=u.device, dtype=torch.float32)
    if dim % rows:
        raise ValueError(f"{rows} channels a program do not divide {dim} channels")
    _gluon_forward[(dim // rows, batch)](u, delta, z, y, A, B, C, D, delta_bias, final, hstart,
                                         dim, length, n_chunks, STATE=state, SPT=spt,
                                         WARPS=warps, ROWS=rows, num_warps=warps)
    return y, final, hstart


def times(shapes: list[tuple[int, int, int]], spt: int, warps: int, rows: int) -> None:
    import torch
    from kdiag import kernel_us

    from benchmarks.scan import mamba_inputs
    from mambaseq.kernels.triton_scan import ScanConfig, selective_scan_triton
    print(f"# {torch.cuda.get_device_name()}: Gluon forward, {rows} channels a program, {spt} "
          f"steps a thread, {warps} warps; GPU us a call (10 calls; the block scan's with a "
          "graph), errors relative to the block scan's")
    print("| B, D, L | Triton forward kernel us | Gluon us | Gluon / Triton | y error | "
          "final-state error |")
    print("|---|---|---|---|---|---|")
    for shape in shapes:
        x = mamba_inputs(*shape)
        with torch.no_grad():
            args = {k: v.detach() for k, v in x.items()}
            y_ref, h_ref = selective_scan_triton(
                args["u"], args["delta"], args["A"], args["B"], args["C"], D=args["D"],
                z=args["z"], delta_bias=args["delta_bias"], delta_softplus=True,
                return_final_state=True, config=ScanConfig(layout="block"))
            y, h, _ = gluon_scan(args["u"], args["delta"], args["A"], args["B"], args["C"],
                                 args["D"], args["z"], args["delta_bias"], spt, warps, rows)
        errors = [((a.float() - r.float()).abs().max() / r.float().abs().max()).item()
                  for a, r in ((y, y_ref), (h, h_ref))]

        def triton_forward():
            selective_scan_triton(x["u"], x["delta"], x["A"], x["B"], x["C"], D=x["D"],
                                  z=x["z"], delta_bias=x["delta_bias"], delta_softplus=True,
                                  config=ScanConfig(layout="block"))

        def gluon_forward():
            gluon_scan(args["u"], args["delta"], args["A"], args["B"], args["C"], args["D"],
                       args["z"], args["delta_bias"], spt, warps, rows)
        us = {"triton": kernel_us(triton_forward, ("_block_fwd_kernel",))["_block_fwd_kernel"],
              "gluon": kernel_us(gluon_forward, ("_gluon_forward",))["_gluon_forward"]}
        print(f"| {', '.join(map(str, shape))} | {us['triton']:.1f} | {us['gluon']:.1f} | "
              f"{us['gluon'] / us['triton']:.3f} | {errors[0]:.1e} | {errors[1]:.1e} |",
              flush=True)
        del x, args
        torch.cuda.empty_cache()


if __name__ == "__main__":
    if sys.argv[1] == "stats":
        stats(*map(int, sys.argv[2:5]))
    else:
        given = [tuple(map(int, a.split(","))) for a in sys.argv[2:]]
        shapes = [g for g in given if len(g) == 3]
        launch = [g for g in given if g not in shapes]
        times(shapes, *(launch[0] if launch else (16, 4, 1)))
