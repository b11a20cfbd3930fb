"""Every Triton kernel compiled for an NVIDIA target on any machine, GPU or not: registers,
local-memory stack (spills), and the SASS instruction mix per kernel variant, whole and in its
innermost loop.

Triton ships ptxas, so kernels compile to cubin without a GPU. That makes two things possible
on a CPU-only machine: catching compile errors in code paths the interpreter cannot judge
(``--check`` exits 1 on the first failure; a test runs it), and working on register pressure
and spills between GPU sessions (a kernel whose stack is not 0 spills to local memory).
Prints a Markdown table; ``--out`` also writes it as kernel_stats.csv. The "loop" columns count
the innermost loop's body (the shortest span a backward branch closes): what a warp issues
each pass, e.g. a scan kernel's per-chunk, per-state work. ``--loop-mix TEXT`` prints, for
the kernels whose label contains TEXT, every opcode of that body and its count (where the
instructions go: arithmetic, shuffles, barriers, layout changes through shared memory).

    python benchmarks/kernel_stats.py [--arch 90] [--out DIR] [--check] [--loop-mix TEXT]
"""
from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

import mambaseq.kernels.triton_block_scan as block_scan
import mambaseq.kernels.triton_conv as conv
import mambaseq.kernels.triton_linear as linear
import mambaseq.kernels.triton_norm as norm
import mambaseq.kernels.triton_scan as scan
import mambaseq.kernels.triton_step as step
from mambaseq.kernels.backend import triton_interpreted

CUOBJDUMP = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
OPS = ("MUFU", "FFMA", "FMUL", "LDG", "STG", "SHFL", "REDG", "LDL", "STL")
LOOP_OPS = ("SHFL", "BAR")
# one SASS instruction as cuobjdump prints it: /*address*/, an optional predicate, the opcode
# with its modifiers (MUFU.EX2; a vector width such as F32x4 has a lower-case x), the
# operands, and a branch's target address if it has one
SASS_LINE = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Za-z0-9_.]*)([^;]*);")
BRANCH_TARGET = re.compile(r"0x([0-9a-f]+)")
BF, F32, I32 = "*bf16", "*fp32", "*i32"
# pointer arguments by name (bf16 activations, float32 state and parameters); others are i32
POINTERS = {name: BF for name in ("u_ptr", "delta_ptr", "z_ptr", "out_ptr", "dout_ptr", "du_ptr",
                                  "ddelta_ptr", "dz_ptr", "x_ptr", "y_ptr", "dy_ptr", "dx_ptr",
                                  "dt_ptr", "B_ptr", "C_ptr")}
POINTERS.update({name: I32 for name in ("meta_ptr", "reset_ptr", "start_ptr")})
FLOAT_SCALARS = ("eps",)
SCAN_BLOCKS = dict(BLOCK_D=32, BLOCK_N=16, BLOCK_T=8)
SCAN_FLAGS = dict(HAS_BIAS=True, SOFTPLUS=True, HAS_D=True, HAS_Z=True, HAS_H0=True,
                  STORE_TILES=True, HAS_CARRY=True, SPLIT=2, TILES_PER_STATE=1, FAST=True)
# the prefixes of the activations' (batch, dim, length) stride arguments, whose length stride
# is 1 at a real launch (Triton then makes it a constant); the output's gradient (sg) may have
# its channel stride 1 instead (channels-last, ROWS_G)
SCAN_STRIDES = ("su", "sdl", "sz", "so", "sg", "sdu", "sdd", "sdz")


CONV_WINDOW = {"init_ptr": BF, "dinit_ptr": BF}   # the conv's initial window is an activation
LINEAR_WEIGHTS = {"w_ptr": BF, "bias_ptr": BF}     # the decode linear's bf16 parameters
STEP_CODE = {"code_ptr": BF, "w_ptr": BF}          # the decode step's Δ code and projection


def variants() -> list[tuple[str, object, dict, int, dict]]:
    """(label, kernel, constexpr values, num_warps, pointer types that differ from the
    defaults below) of every kernel variant to compile: the
    scan and conv kernels unpacked and packed (VARLEN), with and without per-sequence
    initial states, the scan's backward reading a channels-last output gradient, and the
    scan's forward and backward with a state saved every 8 tiles, and with a float32 Δ in
    4-step tiles (as the models call them: one 16-byte vector of the widest input), and the
    bf16 backward in 4-step tiles after an 8-step forward (two tiles a saved state); the
    block layout's forward and backward (bf16, and a float32 Δ), and its bf16 forward
    zeroing the backward's sums (small ones: EARLY_SUMS_MAX_BYTES); the small ops at their
    launch settings; the decode linear in each autotune config (bf16, 64 rows). Pointer
    types come from POINTERS (the conv kernels' from CONV_WINDOW first, the decode
    linear's from LINEAR_WEIGHTS, the decode step's from STEP_CODE)."""
    out = []
    for varlen, init, rows in ((False, False, False), (False, False, True),
                               (True, False, False), (True, True, False)):
        tag = ("packed" + ("+init" if init else "") if varlen else "plain") + (
            ", channels-last dout" if rows else "")
        # the activations' length strides are 1 (the kernels read them so); the output's
        # gradient may instead have adjacent channels (ROWS_G)
        unit = {prefix + "_t": 1 for prefix in SCAN_STRIDES if not (rows and prefix == "sg")}
        if rows:
            unit["sg_d"] = 1
        flags = dict(SCAN_FLAGS, VARLEN=varlen, HAS_INIT=init, HAS_DFINAL=init, **SCAN_BLOCKS,
                     ROWS_G=rows, **unit)
        backward = [(f"scan chunk adjoint {tag}", scan._chunk_adjoint_kernel, flags, 1),
                    (f"scan backward {tag}", scan._bwd_scan_kernel,
                     dict(flags, HAS_DH0=not varlen, HAS_INIT=init), 1)]
        if rows:        # only the backward reads the output's gradient
            out += backward
            continue
        out += [(f"scan chunk state {tag}", scan._chunk_state_kernel, flags, 1),
                (f"scan forward {tag}", scan._fwd_scan_kernel, flags, 1), *backward,
                (f"scan combine {tag}", scan._chunk_combine_kernel,
                 dict(HAS_INIT=not varlen, REVERSE=True, VARLEN=varlen, BLOCK_D=32, BLOCK_N=16), 1)]
    # the forward saving a state every 8 tiles, and the backward recomputing the others
    sparse = dict(SCAN_FLAGS, VARLEN=False, HAS_INIT=False, HAS_DFINAL=False, HAS_DH0=True,
                  ROWS_G=False, TILES_PER_STATE=8, **SCAN_BLOCKS,
                  **{prefix + "_t": 1 for prefix in SCAN_STRIDES})
    out += [("scan forward plain, a state every 8 tiles", scan._fwd_scan_kernel, sparse, 1),
            ("scan backward plain, a state every 8 tiles", scan._bwd_scan_kernel, sparse, 1)]
    # the models' dtypes: bf16 u, float32 Δ (and its gradient), so 4-step tiles
    model = dict(SCAN_FLAGS, VARLEN=False, HAS_INIT=False, HAS_DFINAL=False, HAS_DH0=True,
                 ROWS_G=False, **dict(SCAN_BLOCKS, BLOCK_T=4),
                 **{prefix + "_t": 1 for prefix in SCAN_STRIDES})
    fp32_delta = {"delta_ptr": F32, "ddelta_ptr": F32}
    out += [("scan forward plain, float32 Δ, 4-step tiles", scan._fwd_scan_kernel, model, 1,
             fp32_delta),
            ("scan backward plain, float32 Δ, 4-step tiles", scan._bwd_scan_kernel, model, 1,
             fp32_delta)]
    # bf16 inputs, the backward in 4-step tiles after 8-step forward ones (ScanConfig.bwd_block_t)
    out += [("scan backward plain, 4-step tiles after an 8-step forward", scan._bwd_scan_kernel,
             dict(model, TILES_PER_STATE=2), 1)]
    # the block layout (kernels/triton_block_scan.py) at its default chunk, bf16 inputs and
    # the models' float32 Δ, with step masks (EVEN_L off: a length not of whole chunks; on,
    # the loops are 18 and 32 instructions shorter); the forward without zeroing the
    # backward's sums (ZERO: its loop over them, shorter, would be the innermost loop read)
    block = dict(HAS_D=True, HAS_Z=True, HAS_BIAS=True, SOFTPLUS=True, HAS_H0=False, STORE=True,
                 ZERO=False, HAS_DFINAL=False, HAS_DH0=False, FAST=True, WIDE=False,
                 BLOCK_L=block_scan.MAX_BLOCK_L, BLOCK_N=16, EVEN_L=False)
    fwd, bwd = block_scan.FWD_WARPS, block_scan.BWD_WARPS
    for tag, types in (("bf16", {}), ("float32 Δ", fp32_delta)):
        out += [(f"block scan forward, {tag}", block_scan._block_fwd_kernel,
                 dict(block, WARPS=fwd), fwd, types),
                (f"block scan backward, {tag}", block_scan._block_bwd_kernel,
                 dict(block, WARPS=bwd), bwd, types)]
    out += [("block scan forward, bf16, zeroing the backward's sums",
             block_scan._block_fwd_kernel, dict(block, WARPS=fwd, ZERO=True), fwd)]
    for varlen in (False, True):
        tag = "packed" if varlen else "plain"
        # unit length strides, as at a launch on (batch, dim, length) tensors
        flags = dict(W=4, HAS_INIT=not varlen, HAS_BIAS=True, SILU=True, VARLEN=varlen,
                     sxl=1, syl=1, sgl=1, spl=1, sdxl=1)
        out += [(f"conv forward {tag}", conv._conv_fwd_kernel,
                 dict(flags, BLOCK_D=16, BLOCK_L=256), 4),
                (f"conv backward weight {tag}", conv._conv_bwd_weight_kernel,
                 dict(flags, BLOCK_D=32, BLOCK_L=128), 4),
                (f"conv backward input {tag}", conv._conv_bwd_input_kernel,
                 dict(flags, BLOCK_D=32, BLOCK_L=128), 4)]
    out += [("conv step", conv._conv_update_kernel, dict(W=4, HAS_BIAS=True, SILU=True, PDL=2, BLOCK_D=256), 4),
            ("decode step", step._state_update_kernel,
             dict(HAS_D=True, HAS_Z=True, HAS_DTB=True, SOFTPLUS=True, PDL=2, BLOCK_D=64,
                  BLOCK_N=16), 4),
            ("decode step from Δ's code", step._state_update_code_kernel,
             dict(HAS_D=True, HAS_Z=True, HAS_DTB=True, SOFTPLUS=True, PRECISION=0, PDL=2, BLOCK_M=16,
                  BLOCK_D=16, BLOCK_N=16, BLOCK_R=64, sqr=1, ssn=1, sxd=1, szd=1, syd=1, san=1,
                  sbn=1, scn=1), 8),
            ("rmsnorm forward", norm._rms_fwd_kernel, dict(HAS_RES=True, STORE_RES=True, PDL=2, BLOCK_N=2048), 4),
            ("rmsnorm backward", norm._rms_bwd_kernel,
             dict(HAS_DRES=True, STORE_DRES_IN=True, ROWS=32, BLOCK_N=2048), 4)]
    for config in linear._decode_linear_kernel.configs:     # bf16 on tensor cores, 64 rows
        blocks = dict(config.kwargs, BLOCK_M=64, HAS_BIAS=True, PRECISION=0, PDL=2, sxk=1)
        out.append((f"decode linear {config.kwargs['BLOCK_N']}x{config.kwargs['BLOCK_K']}",
                    linear._decode_linear_kernel, blocks, config.num_warps))
    out += [("decode linear split, partial sums", linear._partial_product_kernel,
             dict(BLOCK_M=64, BLOCK_N=linear.SPLIT_BLOCK_N, BLOCK_K=linear.SPLIT_BLOCK_K,
                  PRECISION=0, PDL=2, sxk=1), 4),
            ("decode linear split, slice sum", linear._sum_slices_kernel,
             dict(HAS_BIAS=False, PDL=2, SLICES=32, BLOCK=128), 4)]
    return [v if len(v) == 5 else (*v, {}) for v in out]


def jit_function(kernel) -> triton.runtime.jit.JITFunction:
    """The JITFunction under autotuner/heuristics wrappers."""
    while not isinstance(kernel, triton.runtime.jit.JITFunction):
        kernel = kernel.fn
    return kernel


def innermost_loop(sass: str) -> list[str]:
    """The opcodes with modifiers ("MUFU.EX2") of the innermost loop of ``sass`` (cuobjdump
    -sass text): the instructions from a backward branch's target to that branch, for the
    branch whose span is shortest; [] where no branch jumps backward."""
    code = [(int(m.group(1), 16), m.group(2), m.group(3)) for m in SASS_LINE.finditer(sass)]
    spans = [(int(t.group(1), 16), at) for at, op, operands in code if op.startswith("BRA")
             for t in [BRANCH_TARGET.search(operands)] if t and int(t.group(1), 16) < at]
    if not spans:
        return []
    start, end = min(spans, key=lambda span: span[1] - span[0])
    return [op for at, op, _ in code if start <= at <= end]


def compile_stats(kernel, constexprs: dict, num_warps: int, arch: int,
                  pointer_types: dict | None = None) -> dict:
    """Compile ``kernel`` for sm_<arch> (``pointer_types``: pointer arguments typed otherwise
    than by POINTERS) and read its resources from the cubin: {"regs",
    "stack" (bytes of local memory a thread uses: spills), "instructions", the count of each
    of OPS, "loop" (instructions of the innermost loop, ``innermost_loop``), "loop <op>" for
    each of LOOP_OPS, and "loop mix" (that loop's opcodes with modifiers: their counts)}.
    Raises whatever Triton or ptxas raise on a kernel that does not compile."""
    fn = jit_function(kernel)
    constexprs = {n: v for n, v in constexprs.items() if n in fn.arg_names}
    pointers = {**POINTERS, **{conv.__name__: CONV_WINDOW, linear.__name__: LINEAR_WEIGHTS,
                               step.__name__: STEP_CODE}.get(fn.__module__, {}),
                **(pointer_types or {})}
    signature = {n: "constexpr" if n in constexprs else pointers.get(
        n, F32 if n.endswith("_ptr") else "fp32" if n in FLOAT_SCALARS else "i32")
        for n in fn.arg_names}
    # as a launch at real shapes specialises them: every pointer 16-byte aligned, every integer
    # a multiple of 16 (without it the loads are not vectorised and the layouts differ)
    aligned = {(i,): [["tt.divisibility", 16]] for i, n in enumerate(fn.arg_names)
               if signature[n] not in ("constexpr", "fp32")}
    source = ASTSource(fn=fn, signature=signature,
                       constexprs={(fn.arg_names.index(n),): v for n, v in constexprs.items()},
                       attrs=aligned)
    compiled = triton.compile(source, target=GPUTarget("cuda", arch, 32),
                              options=dict(num_warps=num_warps))
    with tempfile.NamedTemporaryFile(suffix=".cubin") as cubin:
        cubin.write(compiled.asm["cubin"])
        cubin.flush()
        usage = subprocess.run([str(CUOBJDUMP), "--dump-resource-usage", cubin.name],
                               capture_output=True, text=True, check=True).stdout
        sass = subprocess.run([str(CUOBJDUMP), "-sass", cubin.name],
                              capture_output=True, text=True, check=True).stdout
    ops = [m.group(2).split(".")[0] for m in SASS_LINE.finditer(sass)]
    loop = innermost_loop(sass)
    stats = {"regs": int(re.search(r"REG:(\d+)", usage).group(1)),
             "stack": int(re.search(r"STACK:(\d+)", usage).group(1)), "instructions": len(ops)}
    stats.update({op: ops.count(op) for op in OPS})
    stats["loop"] = len(loop)
    stats.update({f"loop {op}": sum(o.split(".")[0] == op for o in loop) for op in LOOP_OPS})
    stats["loop mix"] = Counter(loop)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", type=int, default=90, help="SM version (90: H100/H200)")
    parser.add_argument("--out", type=Path, help="folder for kernel_stats.csv")
    parser.add_argument("--check", action="store_true", help="exit 1 if any kernel fails to compile")
    parser.add_argument("--loop-mix", metavar="TEXT",
                        help="print the innermost loop's opcodes of kernels whose label has TEXT")
    args = parser.parse_args()
    if triton_interpreted():
        parser.error("unset TRITON_INTERPRET: under the interpreter nothing is compiled")
    rows, failed, mixes = [], [], []
    loop_columns = ["loop"] + [f"loop {op}" for op in LOOP_OPS]
    print("| kernel | warps | regs | stack (spills) | instructions | " + " | ".join(OPS) + " | "
          + " | ".join(loop_columns) + " |")
    print("|---|---|---|---|---|" + "---|" * (len(OPS) + len(loop_columns)))
    for label, kernel, constexprs, warps, pointer_types in variants():
        try:
            stats = compile_stats(kernel, constexprs, warps, args.arch, pointer_types)
        except Exception as err:  # report every kernel, then fail
            failed.append(label)
            print(f"| {label} | {warps} | does not compile: {type(err).__name__}: "
                  f"{str(err).splitlines()[0][:200]} |")
            continue
        mix = stats.pop("loop mix")
        if args.loop_mix and args.loop_mix in label:
            mixes.append((label, mix))
        rows.append({"kernel": label, "warps": warps, **stats})
        print(f"| {label} | {warps} | {stats['regs']} | {stats['stack']} | {stats['instructions']} | "
              + " | ".join(str(stats[c]) for c in OPS + tuple(loop_columns)) + " |")
    for label, mix in mixes:
        print(f"\n{label}: innermost loop, {sum(mix.values())} instructions: "
              + ", ".join(f"{op} {n}" for op, n in mix.most_common()))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "kernel_stats.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if failed:
        print(f"\n{len(failed)} kernel(s) do not compile for sm_{args.arch}: {', '.join(failed)}",
              file=sys.stderr)
        if args.check:
            sys.exit(1)


if __name__ == "__main__":
    main()
