"""Session 22, offline: the block forward's loop over states written in Gluon, where the
layout is set (each thread SPT adjacent steps of a chunk of SPT x 32 x WARPS, in WARPS
warps), compiled for sm_90 without a GPU; prints the innermost loop's instruction count,
the registers and the commonest opcodes. Not a kernel of the product: no gate, no softplus,
no chunk-start states; the carry is picked from each thread's row of the scan.

    PYTHONPATH=. python3 benchmarks/results/h100-2026-12-06/session22/gluon_probe.py SPT WARPS
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
import kernel_stats as ks  # noqa: E402  (benchmarks/kernel_stats.py: cuobjdump, the loop)


@gluon.jit
def _combine(a1, b1, a2, b2):
    return a1 * a2, a2 * b1 + b2


@gluon.jit
def probe(u_ptr, dt_ptr, B_ptr, C_ptr, A_ptr, y_ptr, carry_ptr, state, n_chunks, length,
          BLOCK_L: gl.constexpr, SPT: gl.constexpr, WARPS: gl.constexpr):
    L: gl.constexpr = gl.BlockedLayout([SPT], [32], [WARPS], [0])
    R: gl.constexpr = gl.BlockedLayout([1, SPT], [32, 1], [WARPS, 1], [1, 0])
    offs = gl.arange(0, BLOCK_L, layout=L)
    row = gl.program_id(0) * length
    first = offs == 0
    for chunk in range(n_chunks):
        gl.thread_barrier()
        t = chunk * BLOCK_L + offs
        dt = gl.load(dt_ptr + row + t).to(gl.float32)
        u = gl.load(u_ptr + row + t).to(gl.float32)
        dtu = dt * u
        y = u
        for n in range(state):
            h_start = gl.load(carry_ptr + n)
            Bt = gl.load(B_ptr + n * length + t).to(gl.float32)
            Ct = gl.load(C_ptr + n * length + t).to(gl.float32)
            a = gl.exp2(dt * gl.load(A_ptr + n))
            bb = dtu * Bt + gl.where(first, a * h_start, 0.0)
            _, h = gl.associative_scan((a, bb), 0, _combine)
            y += Ct * h
            rows = gl.reshape(h, (BLOCK_L // SPT, SPT))
            rows = gl.convert_layout(rows, R, assert_trivial=True)
            col = gl.arange(0, SPT, layout=gl.SliceLayout(0, R))
            last = gl.max(gl.where((col == SPT - 1)[None, :], rows, float("-inf")), 1)
            k = gl.arange(0, BLOCK_L // SPT, layout=gl.SliceLayout(1, R))
            gl.store(carry_ptr + n + k * 0, last, mask=k == BLOCK_L // SPT - 1)
        gl.store(y_ptr + row + t, y.to(gl.bfloat16))


def main():
    spt, warps = int(sys.argv[1]), int(sys.argv[2])
    block_l = spt * 32 * warps
    fn = probe
    sig = dict(u_ptr="*bf16", dt_ptr="*bf16", B_ptr="*bf16", C_ptr="*bf16", A_ptr="*fp32",
               y_ptr="*bf16", carry_ptr="*fp32", state="i32", n_chunks="i32", length="i32",
               BLOCK_L="constexpr", SPT="constexpr", WARPS="constexpr")
    names = fn.arg_names
    consts = dict(BLOCK_L=block_l, SPT=spt, WARPS=warps)
    attrs = {(i,): [["tt.divisibility", 16]] for i, n in enumerate(names) if sig[n] != "constexpr"}
    src = GluonASTSource(fn=fn, signature=sig, attrs=attrs,
                         constexprs={(names.index(k),): v for k, v in consts.items()})
    c = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=dict(num_warps=warps))
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(c.asm["cubin"])
        f.flush()
        sass, usage = (subprocess.run([str(ks.CUOBJDUMP), flag, f.name], capture_output=True,
                                      text=True, check=True).stdout
                       for flag in ("-sass", "--dump-resource-usage"))
    loop = ks.innermost_loop(sass)
    print(f"{spt} steps a thread, {warps} warps, {block_l}-step chunks: loop {len(loop)}, "
          f"registers {usage.split('REG:')[1].split()[0]}, "
          f"{sorted(Counter(loop).items(), key=lambda kv: -kv[1])[:12]}")


if __name__ == "__main__":
    main()
