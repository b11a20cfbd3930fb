"""Selective scan in Triton in the block layout: one program a channel, the length in chunks
scanned across the program's threads. Forward and backward.

Same contract as ``kernels.scan_reference.selective_scan_ref`` for unpacked calls: u, delta,
z (batch, dim, length) in float32/bfloat16/float16 with adjacent steps (any batch and channel
strides); A (dim, state) float32; B, C (batch, state, length) or (batch, groups, state,
length) with adjacent steps; D, delta_bias (dim,); initial_state (batch, dim, state) float32.
Arithmetic in float32.

Layout (mamba_ssm's: a CUDA block a channel, cub's BlockScan over its threads' steps). A
program is one (channel, batch row) and walks the length in chunks of BLOCK_L steps. For one
state n at a time it forms a_t = exp(Δ_t A_n) and b_t = Δ_t u_t B_t over the whole chunk and
scans the pairs with ``tl.associative_scan`` under (a1, b1), (a2, b2) -> (a1 a2, a2 b1 + b2):
each thread its consecutive steps, then across the threads. The state at the chunk start is
joined into the first step (b_0 + a_0 h), so the scan's b is h_t; y_t += C_t h_t. Between
chunks every state's value is carried through memory (the final state's row): the thread that
holds the chunk's last step writes it, every thread reads it back in the next chunk after a
barrier, so no value is gathered across the threads (a reduction, with barriers of its own, a
state a chunk) and A_n is read as a scalar. That step is picked out of the thread's own
registers (``_end_column``: the rows of adjacent steps a thread holds, halved by
``tl.split``), since a store of the whole chunk in another layout would first move it through
shared memory, with barriers (on an H100 the forward took 0.84-0.98x the time without that
move from 8K steps up; benchmarks/results/h100-2026-12-06, session 16). The backward carries
its adjoints alike, from a chunk's first step to the chunk before. There are batch x dim
programs and no passes over chunks, so a wide input fills the GPU in one launch at any
length; a narrow one (few channels, one batch row) leaves it idle, which is where the tile
layout (``kernels.triton_scan``) that cuts the length into chunks is faster:
``triton_scan.selective_scan_triton`` picks between them.

Forward: y (gated by SiLU(z)), the final state and, for the backward, every chunk's start
state (batch, chunks, dim, state) float32: 1/BLOCK_L of the states, 32 MiB at dim 1024 and
2^20 steps; and where the backward's sums are small (EARLY_SUMS_MAX_BYTES) it zeroes them,
so the backward launches no fill of its own (one host call less on a short scan).

Backward, chunks last to first, for one state at a time: the states again by the forward scan
from the saved chunk start; the adjoint g_t = C_t dy_t + a_(t+1) g_(t+1) by the reverse scan
of (a_(t+1), C_t dy_t) (``_reverse_scan``: a thread's rows of adjacent steps in its registers,
then the rows' totals across the threads), a_(t+1) from the next step's Δ in memory, the
adjoint entering from the next chunk (or the final state's gradient) joined into the last
step; then g_t a_t h_(t-1) = g_t (h_t - b_t) for dA and dΔ. The output before the gate, for
dz, is summed again from the recomputed states, so nothing of size (batch, dim, length) is
saved. dB and dC (sums over the channels) are added with float32 atomics; dA, dD and dΔ bias
are summed in registers and added once a program. Each state's B_t and C_t are loaded while
the state before is worked on, so their latency (from L2: every program reads them) is
hidden.
"""
from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl

from .backend import triton_interpreted
from .scan_stash import ScanStash, active_stash
from .triton_launch import Launcher
from .triton_scan import (_LOG2E, ScanConfig, _channel_major, _sigmoid, _softplus,
                          check_max_regs)

MAX_BLOCK_L = 2048     # steps a chunk: mamba_ssm's 128 threads x 16 steps
# warps a program of the forward and of the backward at most; a chunk shorter than 2048
# steps gets one warp a STEPS_PER_WARP steps, so a thread holds 16 steps at every chunk
# length, as in mamba_ssm's kernel (32, 64 and 128 threads for 512, 1024 and 2048 steps),
# and a short chunk's scans stay inside fewer warps. sm_90 (benchmarks/kernel_stats.py): the
# forward holds 96, 118 and 128 registers a thread at 512, 1024 and 2048 steps (at 128, four
# programs a multiprocessor), the backward 255 and spills 0, 0 and 8 bytes. The backward
# in 8 warps at 2048 steps took 1.14-1.35x the time of 4 on an H100 (`benchmarks/scan.py
# --layouts`, benchmarks/results/h100-2026-12-06, session 8); capped at 168 and 128
# registers (ScanConfig.bwd_max_regs: three and four programs a multiprocessor, 256 and 408
# bytes of spills) 1.02-1.13x and 1.18-1.30x the time uncapped (session 14).
FWD_WARPS = 4
BWD_WARPS = 4
STEPS_PER_WARP = 512
# dB and dC's float32 sums (bytes) at most that the backward keeps in one buffer with dA, dD
# and dΔ bias's: above it they get a buffer of their own (one more fill, about 5 us of a
# short scan's host time), so that a parameter's .grad, a view of that buffer, does not
# hold them (128 MiB a layer at 2^20 steps and 16 states)
SHARED_SUMS_MAX_BYTES = 1 << 20
# the backward's sums (bytes) at most that the forward allocates and its kernel zeroes, so
# that the backward launches no fill (one host call less on a short scan); larger sums are
# the backward's own, so that nothing of their size is held from the forward to the backward
EARLY_SUMS_MAX_BYTES = 1 << 20


@triton.jit
def _combine(a1, b1, a2, b2):
    """Two steps h -> a h + b, the first (a1, b1), as one."""
    return a1 * a2, a2 * b1 + b2


@triton.jit
def _delta_steps(delta_ptr, row, t, m, bias, SOFTPLUS: tl.constexpr, FAST: tl.constexpr):
    """delta + bias and Δ (its softplus when asked) at the steps t (mask m) of a channel row,
    float32; Δ is 0 past the length, so a = 1 and b = 0 there: the state carries."""
    raw = tl.load(delta_ptr + row + t, mask=m, other=0.0).to(tl.float32) + bias
    if SOFTPLUS:
        dt = _softplus(raw, FAST)
    else:
        dt = raw
    return raw, tl.where(m, dt, 0.0)


@triton.jit
def _bc_steps(B_ptr, C_ptr, b_row, c_row, t, m):
    """B_t and C_t of one state at the steps t (mask m), in their own dtype."""
    return (tl.load(B_ptr + b_row + t, mask=m, other=0.0),
            tl.load(C_ptr + c_row + t, mask=m, other=0.0))


@triton.jit
def _state_scan(B_raw, C_raw, dt, dtu, A2_n, h_start):
    """One state of a chunk from its B_t and C_t (``_bc_steps``): B_t, C_t in float32,
    a_t = exp2(Δ_t A_n log2 e), b_t = Δ_t u_t B_t and the states h_t by the scan over the
    chunk's steps, ``h_start`` joined into the first."""
    Bt = B_raw.to(tl.float32)
    Ct = C_raw.to(tl.float32)
    a = tl.exp2(dt * A2_n)
    bb = dtu * Bt
    first = tl.arange(0, dt.shape[0]) == 0
    _, h = tl.associative_scan((a, bb + tl.where(first, a * h_start, 0.0)), 0, _combine)
    return Bt, Ct, a, bb, h


@triton.jit
def _gated_grad(dout_ptr, g_row, z_ptr, z_row, t, m, HAS_Z: tl.constexpr):
    """The gradient of the output before the gate at the steps t (mask m): dout SiLU(z), or
    dout without a gate; float32."""
    dout = tl.load(dout_ptr + g_row + t, mask=m, other=0.0).to(tl.float32)
    if HAS_Z:
        z = tl.load(z_ptr + z_row + t, mask=m, other=0.0).to(tl.float32)
        return dout * z * _sigmoid(z)
    return dout


@triton.constexpr_function
def _row_steps(block_l, warps, *dtypes):
    """The adjacent steps a thread holds in a row, as Triton lays out a chunk of ``block_l``
    steps in ``warps`` warps for loads of these element types (tl dtypes; the narrowest sets
    it): 16 bytes of them, at most the chunk's steps over its threads, at least 1."""
    bits = min(dtype.primitive_bitwidth for dtype in dtypes)
    return min(128 // bits, max(1, block_l // (32 * warps)))


@triton.constexpr_function
def _log2(n):
    """log2 of a power of two."""
    return n.bit_length() - 1


@triton.jit
def _row_end(rows, LAST: tl.constexpr):
    """The last (LAST) or first column of ``rows`` (R, VEC), as an (R,) tensor; VEC a power of
    two. Each row is halved by ``tl.split`` down to that column, which moves no value between
    threads where a thread holds whole rows (a gather into another layout goes through shared
    memory)."""
    for _ in tl.static_range(_log2(rows.shape[1])):
        first, last = tl.split(tl.reshape(rows, (rows.shape[0], rows.shape[1] // 2, 2)))
        rows = last if LAST else first
    return tl.reshape(rows, (rows.shape[0],))


@triton.jit
def _end_column(value, VEC: tl.constexpr, LAST: tl.constexpr):
    """The last (LAST) or first of every VEC adjacent steps of ``value`` (a chunk's (BLOCK_L,)
    tensor), as a (BLOCK_L // VEC,) tensor; VEC (a power of two) the steps a thread holds in
    a row (``_row_end``)."""
    return _row_end(tl.reshape(value, (value.shape[0] // VEC, VEC)), LAST)


@triton.jit
def _combine_after(a1, b1, ea1, eb1, a2, b2, ea2, eb2):
    """``_combine`` of two runs of steps, and alongside it the composition of all the runs'
    steps but the last (ea, eb; a single step's is the identity, 1 and 0), which is the first
    run's whole composition joined with the second's (ea1, eb1 are not needed): the scan of
    these is an exclusive scan."""
    return a1 * a2, a2 * b1 + b2, a1 * ea2, ea2 * b1 + eb2


@triton.jit
def _reverse_scan(a, b, VEC: tl.constexpr):
    """g_t = b_t + a_t g_(t+1) over a chunk's steps (a, b: (BLOCK_L,) float32), last to first,
    g after the last step 0; VEC the adjacent steps a thread holds in a row. Each row is
    scanned in its thread's registers, last step first (``tl.flip`` along a row reorders
    registers only), then the rows' totals across the threads (an exclusive scan: what enters
    each row from the rows after it), which is joined into every step of the row. Triton 3.6
    lowers a reverse ``tl.associative_scan`` by reversing every value of the operands and
    results across the lanes first, five shuffles a value, whichever axis it scans: over the
    whole chunk that took 240 of the backward's 985 instructions a state (sm_90); over the
    rows' totals it is 1/VEC of the values (811 instructions, 79 shuffles; fwd+bwd
    0.86-0.93x the time on an H100, benchmarks/results/h100-2026-12-06, session 18)."""
    rows_a = tl.reshape(a, (a.shape[0] // VEC, VEC))
    rows_b = tl.reshape(b, (b.shape[0] // VEC, VEC))
    prefix_a, prefix_b = tl.associative_scan((tl.flip(rows_a, 1), tl.flip(rows_b, 1)), 1,
                                             _combine)
    suffix_a, suffix_b = tl.flip(prefix_a, 1), tl.flip(prefix_b, 1)
    total_a, total_b = _row_end(suffix_a, False), _row_end(suffix_b, False)
    _, _, _, after = tl.associative_scan(
        (total_a, total_b, tl.full(total_a.shape, 1.0, tl.float32), tl.zeros_like(total_b)), 0,
        _combine_after, reverse=True)
    return tl.reshape(suffix_b + suffix_a * after[:, None], (a.shape[0],))


@triton.jit
def _put_end(ptr, value, VEC: tl.constexpr, LAST: tl.constexpr):
    """Store the last (LAST) or first step of ``value`` (a chunk's (BLOCK_L,) tensor) to the
    scalar at ``ptr``: only the thread that holds that step writes (``_end_column``)."""
    column = _end_column(value, VEC, LAST)
    rows = tl.arange(0, value.shape[0] // VEC)
    tl.store(ptr + rows * 0, column, mask=rows == (value.shape[0] // VEC - 1 if LAST else 0))


@triton.jit
def _put(ptr, value, offs_l, at):
    """Store ``value`` at step ``at`` of a chunk (a (BLOCK_L,) tensor) to the scalar at
    ``ptr``: only the thread that holds that step writes, nothing is gathered across threads.
    Other threads read it after a barrier, or after the next scan (whose combine passes
    between the warps) where the scan's input was read before."""
    tl.store(ptr + offs_l * 0, value, mask=offs_l == at)


@triton.jit
def _program(state, dim_per_group, sb_b, sb_g, sc_b, sc_g, BLOCK_N: tl.constexpr,
             BLOCK_L: tl.constexpr):
    """This program's channel d and batch row b (int64), its state and step offsets, the
    states' mask, its B/C group and the offsets of its batch row and group in B and C."""
    d = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    offs_n = tl.arange(0, BLOCK_N)
    group = d // dim_per_group
    return (d, b, offs_n, tl.arange(0, BLOCK_L), offs_n < state, group,
            b * sb_b + group * sb_g, b * sc_b + group * sc_g)


@triton.jit
def _block_fwd_kernel(u_ptr, su_b, su_d, delta_ptr, sdl_b, sdl_d, z_ptr, sz_b, sz_d,
                      y_ptr, sy_b, sy_d, A_ptr, B_ptr, sb_b, sb_g, sb_n, C_ptr, sc_b, sc_g, sc_n,
                      D_ptr, bias_ptr, h0_ptr, final_ptr, hstart_ptr, zero_ptr,
                      dim, length, state, dim_per_group, n_chunks, n_zero,
                      HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
                      SOFTPLUS: tl.constexpr, HAS_H0: tl.constexpr, STORE: tl.constexpr,
                      ZERO: tl.constexpr, FAST: tl.constexpr, WIDE: tl.constexpr,
                      BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr, WARPS: tl.constexpr,
                      EVEN_L: tl.constexpr):
    """Program (channel d, batch row b). y in its own strides; final (batch, dim, state)
    holds the state carried from chunk to chunk, a value a state (so the end state when the
    program ends); STORE: the state at every chunk start to hstart (batch, n_chunks, dim,
    state); ZERO: n_zero float32 at zero_ptr set to 0, a share a program (the backward's
    sums). WARPS: the launch's warps; EVEN_L: the length is a whole number of chunks (no
    step is masked off: the forward's loop 313 -> 295 instructions, sm_90)."""
    d, b, offs_n, offs_l, mask_n, group, b_base, c_base = _program(
        state, dim_per_group, sb_b, sb_g, sc_b, sc_g, BLOCK_N, BLOCK_L)
    if ZERO:
        share = tl.cdiv(n_zero, dim * tl.num_programs(1))
        first = (b * dim + d) * share
        for start in range(0, share, BLOCK_L):
            at = start + offs_l
            tl.store(zero_ptr + first + at, tl.zeros([BLOCK_L], dtype=tl.float32),
                     mask=(at < share) & (first + at < n_zero))
    VEC: tl.constexpr = _row_steps(BLOCK_L, WARPS, u_ptr.dtype.element_ty,
                                   delta_ptr.dtype.element_ty, z_ptr.dtype.element_ty,
                                   B_ptr.dtype.element_ty, C_ptr.dtype.element_ty)
    # the channel in int64 where its offset, d x its stride, may pass 2^31 elements (2,048
    # channels of 2^20 steps); int32 otherwise, with as many registers and spills as before
    dw = d.to(tl.int64) if WIDE else d
    u_row, dl_row, z_row, y_row = b * su_b + dw * su_d, b * sdl_b + dw * sdl_d, \
        b * sz_b + dw * sz_d, b * sy_b + dw * sy_d
    bias = tl.load(bias_ptr + d).to(tl.float32) if HAS_BIAS else 0.0
    Dv = tl.load(D_ptr + d).to(tl.float32) if HAS_D else 0.0
    carry_ptr = final_ptr + (b * dim + d) * state
    if HAS_H0:
        h0 = tl.load(h0_ptr + (b * dim + d) * state + offs_n, mask=mask_n, other=0.0)
    else:
        h0 = tl.zeros([BLOCK_N], dtype=tl.float32)
    tl.store(carry_ptr + offs_n, h0, mask=mask_n)
    for chunk in range(n_chunks):
        tl.debug_barrier()          # the carries written in the last chunk are visible
        t = chunk * BLOCK_L + offs_l
        m = (t < length) | EVEN_L
        u = tl.load(u_ptr + u_row + t, mask=m, other=0.0).to(tl.float32)
        _, dt = _delta_steps(delta_ptr, dl_row, t, m, bias, SOFTPLUS, FAST)
        dtu = dt * u
        y = Dv * u
        hstart_row = ((b * n_chunks + chunk) * dim + d) * state
        for n in range(state):
            h_start = tl.load(carry_ptr + n)
            if STORE:
                _put(hstart_ptr + hstart_row + n, h_start + tl.zeros_like(dt), offs_l, 0)
            B_raw, C_raw = _bc_steps(B_ptr, C_ptr, b_base + n * sb_n, c_base + n * sc_n, t, m)
            _, Ct, _, _, h = _state_scan(B_raw, C_raw, dt, dtu,
                                         tl.load(A_ptr + d * state + n) * _LOG2E, h_start)
            y += Ct * h
            _put_end(carry_ptr + n, h, VEC, True)
        if HAS_Z:
            z = tl.load(z_ptr + z_row + t, mask=m, other=0.0).to(tl.float32)
            y = y * z * _sigmoid(z)
        tl.store(y_ptr + y_row + t, y.to(y_ptr.dtype.element_ty), mask=m)


@triton.jit
def _block_bwd_kernel(u_ptr, su_b, su_d, delta_ptr, sdl_b, sdl_d, z_ptr, sz_b, sz_d,
                      dout_ptr, sg_b, sg_d, du_ptr, sdu_b, sdu_d, ddelta_ptr, sdd_b, sdd_d,
                      dz_ptr, sdz_b, sdz_d, A_ptr, B_ptr, sb_b, sb_g, sb_n, C_ptr, sc_b, sc_g,
                      sc_n, D_ptr, bias_ptr, hstart_ptr, dfinal_ptr, gcarry_ptr, dA_ptr, dB_ptr,
                      dC_ptr, dD_ptr, dbias_ptr, dh0_ptr, dim, length, state, dim_per_group,
                      n_groups, n_chunks, HAS_D: tl.constexpr, HAS_Z: tl.constexpr,
                      HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, HAS_DFINAL: tl.constexpr,
                      HAS_DH0: tl.constexpr, FAST: tl.constexpr, WIDE: tl.constexpr,
                      BLOCK_L: tl.constexpr, BLOCK_N: tl.constexpr, WARPS: tl.constexpr,
                      EVEN_L: tl.constexpr):
    """Program (channel d, batch row b), the chunks last to first. du, dΔ, dz in their own
    strides; dA (dim, state), dB, dC (batch, groups, state, length) contiguous, dD, dbias
    (dim,) float32 and added to across programs; dh0 (batch, dim, state) written; gcarry
    (batch, dim, state) float32 carries the adjoint at a chunk's first step, a value a state,
    to the chunk before. WARPS: the launch's warps; EVEN_L: the length is a whole number of
    chunks (no step is masked off: the backward's loop 811 -> 779 instructions, sm_90)."""
    d, b, offs_n, offs_l, mask_n, group, b_base, c_base = _program(
        state, dim_per_group, sb_b, sb_g, sc_b, sc_g, BLOCK_N, BLOCK_L)
    VEC: tl.constexpr = _row_steps(BLOCK_L, WARPS, u_ptr.dtype.element_ty,
                                   delta_ptr.dtype.element_ty, z_ptr.dtype.element_ty,
                                   dout_ptr.dtype.element_ty, B_ptr.dtype.element_ty,
                                   C_ptr.dtype.element_ty)
    dbc_base = (b * n_groups + group) * state * length
    dw = d.to(tl.int64) if WIDE else d     # as in the forward
    u_row, dl_row = b * su_b + dw * su_d, b * sdl_b + dw * sdl_d
    z_row, g_row = b * sz_b + dw * sz_d, b * sg_b + dw * sg_d
    du_row, dd_row = b * sdu_b + dw * sdu_d, b * sdd_b + dw * sdd_d
    dz_row = b * sdz_b + dw * sdz_d
    bias = tl.load(bias_ptr + d).to(tl.float32) if HAS_BIAS else 0.0
    Dv = tl.load(D_ptr + d).to(tl.float32) if HAS_D else 0.0
    state_row = (b * dim + d) * state
    if HAS_DFINAL:      # the adjoint after the last step, carried to it through a = 1
        g_end = tl.load(dfinal_ptr + state_row + offs_n, mask=mask_n, other=0.0)
    else:
        g_end = tl.zeros([BLOCK_N], dtype=tl.float32)
    tl.store(gcarry_ptr + state_row + offs_n, g_end, mask=mask_n)
    dA = tl.zeros([BLOCK_N], dtype=tl.float32)
    dD = tl.sum(tl.zeros([BLOCK_L], dtype=tl.float32))
    dbias = tl.sum(tl.zeros([BLOCK_L], dtype=tl.float32))
    for i in range(n_chunks):
        tl.debug_barrier()          # the adjoints written in the last chunk are visible
        chunk = n_chunks - 1 - i
        t = chunk * BLOCK_L + offs_l
        m = (t < length) | EVEN_L
        # live across the loop over states: Δ, Δu, Δ of the next step, dy, and three sums
        # over the states; u, the output's gradient, z and delta are read again after it
        u = tl.load(u_ptr + u_row + t, mask=m, other=0.0).to(tl.float32)
        _, dt = _delta_steps(delta_ptr, dl_row, t, m, bias, SOFTPLUS, FAST)
        _, dt_next = _delta_steps(delta_ptr, dl_row, t + 1, t + 1 < length, bias, SOFTPLUS,
                                  FAST)
        dtu = dt * u
        dy = _gated_grad(dout_ptr, g_row, z_ptr, z_row, t, m, HAS_Z)
        if HAS_D:
            dD += tl.sum(dy * u)
        ypre = Dv * u                       # the output before the gate, for dz
        gB = tl.zeros([BLOCK_L], dtype=tl.float32)      # sum over states of g_t B_t
        gkA = tl.zeros([BLOCK_L], dtype=tl.float32)     # and of g_t a_t h_(t-1) A
        hstart_row = ((b * n_chunks + chunk) * dim + d) * state
        # B and C of the next state are loaded while this one is worked on, so the L2's
        # latency is hidden (every channel reads them): fwd+bwd 0.86-0.96x the time of
        # loading each state's at its start on an H100 from 8K steps up, 0.97-0.98x at
        # 8 x 1536 x 2K; in the forward (146 registers instead of 128, so three programs a
        # multiprocessor, not four) no faster (benchmarks/results/h100-2026-12-06, session 17)
        B_next, C_next = _bc_steps(B_ptr, C_ptr, b_base, c_base, t, m)
        for n in range(state):
            B_raw, C_raw = B_next, C_next
            B_next, C_next = _bc_steps(B_ptr, C_ptr, b_base + (n + 1) * sb_n,
                                       c_base + (n + 1) * sc_n, t, m & (n + 1 < state))
            A_n = tl.load(A_ptr + d * state + n)
            A2_n = A_n * _LOG2E
            bc_n = dbc_base + n * length
            Bt, Ct, a, bb, h = _state_scan(B_raw, C_raw, dt, dtu, A2_n,
                                           tl.load(hstart_ptr + hstart_row + n))
            ypre += Ct * h
            alpha = tl.exp2(dt_next * A2_n)
            g_after = tl.load(gcarry_ptr + state_row + n)
            last = tl.where(offs_l == BLOCK_L - 1, alpha * g_after, 0.0)
            # dB and dC's atomics take 4 adjacent float32 a thread, so their values move into
            # 4-step rows through shared memory; added instead as the two 4-step halves of each
            # thread's 8 steps, in the chunk's own layout, they doubled the atomic requests
            # and took 1.11-1.30x the fwd+bwd time (benchmarks/results/h100-2026-12-06,
            # session 16).
            g = _reverse_scan(alpha, Ct * dy + last, VEC)
            gk = g * (h - bb)                                  # g_t a_t h_(t-1)
            dA = tl.where(offs_n == n, dA + tl.sum(gk * dt), dA)
            gB += g * Bt
            gkA += gk * A_n
            tl.atomic_add(dB_ptr + bc_n + t, g * dtu, mask=m, sem="relaxed")
            tl.atomic_add(dC_ptr + bc_n + t, dy * h, mask=m, sem="relaxed")
            _put_end(gcarry_ptr + state_row + n, g, VEC, False)
            if HAS_DH0:
                if chunk == 0:
                    _put_end(dh0_ptr + state_row + n, a * g, VEC, False)
        tl.store(du_ptr + du_row + t, (Dv * dy + dt * gB).to(du_ptr.dtype.element_ty), mask=m)
        if HAS_Z:
            dout = tl.load(dout_ptr + g_row + t, mask=m, other=0.0).to(tl.float32)
            z = tl.load(z_ptr + z_row + t, mask=m, other=0.0).to(tl.float32)
            sig = _sigmoid(z)
            dz = dout * ypre * sig * (1.0 + z * (1.0 - sig))
            tl.store(dz_ptr + dz_row + t, dz.to(dz_ptr.dtype.element_ty), mask=m)
        u = tl.load(u_ptr + u_row + t, mask=m, other=0.0).to(tl.float32)
        ddt = u * gB + gkA
        if SOFTPLUS:
            raw, _ = _delta_steps(delta_ptr, dl_row, t, m, bias, False, FAST)
            ddt = ddt * _sigmoid(raw)
        ddt = tl.where(m, ddt, 0.0)
        tl.store(ddelta_ptr + dd_row + t, ddt.to(ddelta_ptr.dtype.element_ty), mask=m)
        if HAS_BIAS:
            dbias += tl.sum(ddt)
    tl.atomic_add(dA_ptr + d * state + offs_n, dA, mask=mask_n, sem="relaxed")
    if HAS_D:
        tl.atomic_add(dD_ptr + d, dD, sem="relaxed")
    if HAS_BIAS:
        tl.atomic_add(dbias_ptr + d, dbias, sem="relaxed")


# ----------------------------------------------------------------------------- launches

def _next_power_of_2(n: int) -> int:
    """The least power of two >= n (n >= 1): triton.next_power_of_2's value, without its
    constexpr-function wrapper (about 2 us a call on the host path of a short scan)."""
    return 1 << (n - 1).bit_length()


def block_length(length: int, block_l: int = 0) -> int:
    """Steps a chunk: ``block_l`` (a power of two, at least 16), or by default the least power
    of two that holds the whole length, at most MAX_BLOCK_L."""
    if block_l:
        if block_l < 16 or block_l & (block_l - 1):
            raise ValueError(f"ScanConfig.block_l must be 0 or a power of two >= 16, "
                             f"got {block_l}")
        return block_l
    return max(16, min(MAX_BLOCK_L, _next_power_of_2(length)))


def block_warps(block_l: int, config: ScanConfig) -> tuple[int, int]:
    """Warps a program of the forward and of the backward for chunks of ``block_l`` steps:
    ``config``'s block_fwd_warps and block_bwd_warps, or where 0 one a STEPS_PER_WARP steps
    (at least one), at most FWD_WARPS and BWD_WARPS."""
    by_steps = max(1, block_l // STEPS_PER_WARP)
    return (config.block_fwd_warps or min(FWD_WARPS, by_steps),
            config.block_bwd_warps or min(BWD_WARPS, by_steps))


_INT32_MAX = 2**31 - 1


def _channel_rows(dim: int, *tensors: torch.Tensor) -> tuple[list, bool]:
    """(batch, dim, length) tensors with adjacent steps as the kernels take them, each followed
    by its batch and channel strides; and whether a channel's offset, (dim - 1) x a channel
    stride, passes int32 (the kernels' WIDE)."""
    rows, widest = [], 0
    for t in tensors:
        batch_stride, channel_stride = t.stride()[:2]
        rows += (t, batch_stride, channel_stride)
        widest = max(widest, channel_stride)
    return rows, (dim - 1) * widest > _INT32_MAX


def _bc_rows(M: torch.Tensor) -> tuple:
    """B or C, (batch, state, length) or (batch, groups, state, length), with adjacent steps
    (M itself where it has them, else a contiguous copy), and its batch, group and state
    strides (the group stride 0 where M has no groups: one group). No view is made: each
    costs host time on every call of a short scan."""
    if M.stride(-1) != 1 and M.shape[-1] > 1:
        M = M.contiguous()
    if M.dim() == 3:
        batch_stride, state_stride, _ = M.stride()
        return M, batch_stride, 0, state_stride
    return (M, *M.stride()[:3])


def _groups(M: torch.Tensor) -> int:
    """B's or C's groups: 1 where it is (batch, state, length)."""
    return 1 if M.dim() == 3 else M.shape[1]


def _split_of(sizes: list[int]) -> list[int]:
    """The pieces one float32 buffer splits into for views of these sizes (0: no view), each
    16-byte aligned: a piece a view, and padding pieces only where a size is not a multiple
    of 4 (each piece costs host time on every call of a short scan)."""
    present = [size for size in sizes if size]
    if any(map((3).__and__, present)):
        return [part for size in present for part in (size, -size % 4)]
    return present


def _pieces(buffer: torch.Tensor, split: list[int],
            sizes: list[int]) -> list[torch.Tensor | None]:
    """Consecutive 1-D views of ``buffer`` (``split = _split_of(sizes)``) of these sizes, None
    for a size 0: one split."""
    pieces = buffer.split_with_sizes(split)
    kept = iter(pieces[::2] if len(split) > len(sizes) - sizes.count(0) else pieces)
    return [next(kept) if size else None for size in sizes]


def _zeroed_pieces(sizes: list[int], device: torch.device) -> list[torch.Tensor | None]:
    """``_pieces`` of one zeroed float32 buffer: one fill and one split."""
    split = _split_of(sizes)
    return _pieces(torch.zeros(sum(split), device=device, dtype=torch.float32), split, sizes)


def _sum_sizes(B: torch.Tensor, dim: int, with_D: bool, with_bias: bool,
               with_dh0: bool) -> tuple[list[int], list[int]]:
    """Elements of dB and dC, and of dA, dD, dbias, the carried adjoint and dh0 (0 where
    absent), for B and C as ``_bc_rows`` gives them."""
    batch, state = B.shape[0], B.shape[-2]
    per_state = batch * dim * state
    return [B.numel()] * 2, [dim * state, dim if with_D else 0, dim if with_bias else 0,
                             per_state, per_state if with_dh0 else 0]


def _sums_in_one_buffer(B: torch.Tensor, C: torch.Tensor) -> bool:
    """Whether dB's and dC's sums may share one buffer with dA's, dD's and dbias's: where dB
    or dC is returned as a view of the sums (float32 B or C), or where they take at most
    SHARED_SUMS_MAX_BYTES (``_gradient_sums``)."""
    return torch.float32 in (B.dtype, C.dtype) or 8 * B.numel() <= SHARED_SUMS_MAX_BYTES


def _early_sums(B: torch.Tensor, C: torch.Tensor, dim: int, with_D: bool, with_bias: bool,
                with_dh0: bool) -> torch.Tensor | None:
    """The backward's sums (``_gradient_sums``) as one float32 buffer, not yet zeroed, for
    the forward's kernel to zero, where they take EARLY_SUMS_MAX_BYTES at most and may be one
    buffer (``_sums_in_one_buffer``); else None (the backward fills its own)."""
    bc_sizes, sizes = _sum_sizes(B, dim, with_D, with_bias, with_dh0)
    elements = sum(_split_of(bc_sizes + sizes))
    if 4 * elements > EARLY_SUMS_MAX_BYTES or not _sums_in_one_buffer(B, C):
        return None
    return torch.empty(elements, device=B.device, dtype=torch.float32)


def _gradient_sums(B: torch.Tensor, C: torch.Tensor, dim: int, with_D: bool, with_bias: bool,
                   with_dh0: bool, zeroed: torch.Tensor | None = None) -> tuple:
    """The backward's float32 sums and scratch, zeroed, each 16-byte aligned, for B and C as
    ``_bc_rows`` gives them: dB and dC (B's and C's shapes), dA (dim, state), dD and dbias
    (dim,), the adjoint carried between chunks (batch x dim x state, flat) and dh0 (batch,
    dim, state); dD, dbias and dh0 are None where absent. All are views of one buffer:
    ``zeroed`` (``_early_sums``' buffer, zeroed by the forward's kernel) where given, else
    one filled here, except where dB and dC are returned as copies (16-bit B and C:
    autograd's engine converts the float32 sums) and their sums pass SHARED_SUMS_MAX_BYTES:
    then the sums are a buffer of their own, since a parameter's ``.grad`` keeps the view the
    backward returns and must not keep them alive through it (128 MiB a layer at 2^20 steps
    and 16 states). Where dB or dC is a view of the sums, they are kept anyway."""
    bc_sizes, sizes = _sum_sizes(B, dim, with_D, with_bias, with_dh0)
    if zeroed is not None:
        all_sizes = bc_sizes + sizes
        dB, dC, dA, dD, dbias, gcarry, dh0 = _pieces(zeroed, _split_of(all_sizes), all_sizes)
    elif _sums_in_one_buffer(B, C):
        dB, dC, dA, dD, dbias, gcarry, dh0 = _zeroed_pieces(bc_sizes + sizes, B.device)
    else:
        dB, dC = _zeroed_pieces(bc_sizes, B.device)
        dA, dD, dbias, gcarry, dh0 = _zeroed_pieces(sizes, B.device)
    # view_as and int sizes: a torch.Size argument takes the slow path of torch's argument
    # parser (a view 2.4 us instead of 0.9 on a 2-core host)
    return (dB.view_as(B), dC.view_as(C), dA.view(dim, B.shape[-2]), dD, dbias, gcarry,
            dh0.view(B.shape[0], dim, B.shape[-2]) if with_dh0 else None)


def _flags(D: torch.Tensor | None, z: torch.Tensor | None, delta_bias: torch.Tensor | None,
           softplus: bool) -> dict:
    """The kernels' compile-time flags of a call."""
    return dict(HAS_D=D is not None, HAS_Z=z is not None, HAS_BIAS=delta_bias is not None,
                SOFTPLUS=softplus, FAST=not triton_interpreted())


_launch_fwd, _launch_bwd = Launcher(_block_fwd_kernel), Launcher(_block_bwd_kernel)


def _block_forward(u: torch.Tensor, delta: torch.Tensor, A32: torch.Tensor, Bv: tuple,
                   Cv: tuple, D32: torch.Tensor | None, z: torch.Tensor | None,
                   bias32: torch.Tensor | None, h0: torch.Tensor | None, flags: dict,
                   store: bool, block_l: int, fwd_warps: int, fwd_regs: int,
                   zero: torch.Tensor | None = None) -> tuple:
    """One launch of the forward on inputs as the kernels read them (u, delta, z with adjacent
    steps; A32, D32, bias32, h0 float32 and contiguous; Bv, Cv from ``_bc_rows``; ``flags``
    from ``_flags``): y (u's dtype and shape), the final state (batch, dim, state) float32
    and, when ``store``, every chunk's start state (batch, chunks, dim, state) float32 (else
    the final state again). ``zero``, a float32 buffer, is set to 0 by the same launch."""
    batch, dim, length = u.shape
    state = A32.shape[1]
    n_chunks = -(-length // block_l)
    f32 = dict(device=u.device, dtype=torch.float32)
    out = torch.empty_like(u)
    final = torch.empty(batch, dim, state, **f32)
    hstart = torch.empty(batch, n_chunks, dim, state, **f32) if store else final
    rows, wide = _channel_rows(dim, u, delta, z if z is not None else u, out)
    _launch_fwd(
        (dim, batch), *rows, A32, *Bv, *Cv, D32 if D32 is not None else A32,
        bias32 if bias32 is not None else A32, h0 if h0 is not None else final, final,
        hstart, zero if zero is not None else final, dim, length, state,
        dim // _groups(Bv[0]), n_chunks, zero.numel() if zero is not None else 0,
        HAS_H0=h0 is not None, STORE=store, ZERO=zero is not None, WIDE=wide,
        BLOCK_L=block_l, WARPS=fwd_warps,
        BLOCK_N=_next_power_of_2(state), EVEN_L=length % block_l == 0, num_warps=fwd_warps,
        maxnreg=fwd_regs, **flags)
    return out, final, hstart


def _float32(t: torch.Tensor | None) -> torch.Tensor | None:
    """t as a contiguous float32 tensor (t itself where it is one), None for None."""
    if t is None or (t.dtype == torch.float32 and t.is_contiguous()):
        return t
    return t.contiguous().float()


def _kernel_inputs(u, delta, A, B, C, D, z, delta_bias, initial_state) -> tuple:
    """The scan's inputs as the kernels read them, in ``_block_forward``'s order: u, delta
    with adjacent steps; A float32; B, C by ``_bc_rows``; D float32; z with adjacent steps;
    delta_bias, initial_state float32 (copies only where the input is not so already)."""
    return (_channel_major(u), _channel_major(delta), _float32(A), _bc_rows(B), _bc_rows(C),
            _float32(D), _channel_major(z), _float32(delta_bias), _float32(initial_state))


class _BlockScanFn(torch.autograd.Function):
    """Autograd of the block layout; forward returns (out, final_state)."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, initial_state, softplus: bool,
                needs_grad: bool, launch: tuple, stash: ScanStash | None):
        block_l, warps, max_regs = launch
        inputs = _kernel_inputs(u, delta, A, B, C, D, z, delta_bias, initial_state)
        u, delta, A32, Bv, Cv, D32, z, bias32, _ = inputs
        flags = _flags(D32, z, bias32, softplus)
        zeroed = None
        if stash is not None and stash.replaying:   # the recorded run's results, no kernel
            batch, dim, length = u.shape
            out, final, hstart = stash.take(
                u.shape, (batch, -(-length // block_l), dim, A.shape[1]))
            out, final = out.detach(), final.detach()
        else:
            if needs_grad:
                zeroed = _early_sums(Bv[0], Cv[0], u.shape[1], D32 is not None,
                                     bias32 is not None, ctx.needs_input_grad[8])
            out, final, hstart = _block_forward(
                *inputs, flags, needs_grad or stash is not None, block_l, warps[0], max_regs[0],
                zeroed)
            if stash is not None:
                stash.put(out, final, hstart)
        if needs_grad:
            # B and C as the kernels read them (copied at most once) and their strides
            ctx.save_for_backward(u, delta, z, A32, Bv[0], Cv[0], D32, bias32, hstart)
            ctx.bc_strides = (Bv[1:], Cv[1:])
            ctx.flags, ctx.block_l = flags, block_l
            ctx.bwd_warps, ctx.bwd_regs = warps[1], max_regs[1]
            ctx.zeroed = zeroed     # the backward's sums, zeroed by the forward's kernel
        ctx.set_materialize_grads(False)
        return out, final

    @staticmethod
    def backward(ctx, dout, dfinal):
        u, delta, z, A32, B, C, D32, bias32, hstart = ctx.saved_tensors
        batch, dim, length = u.shape
        state, groups = A32.shape[1], _groups(B)
        dout = _channel_major(dout) if dout is not None else torch.zeros_like(u)
        dfinal = dfinal.contiguous().float() if dfinal is not None else None
        want_dh0 = ctx.needs_input_grad[8]
        du, ddelta = torch.empty_like(u), torch.empty_like(delta)
        dz = torch.empty_like(z) if z is not None else None
        zeroed, ctx.zeroed = ctx.zeroed, None   # a second backward (retain_graph) fills its own
        dB, dC, dA, dD, dbias, gcarry, dh0 = _gradient_sums(
            B, C, dim, D32 is not None, bias32 is not None, want_dh0, zeroed)
        zz, dzz = (z, dz) if z is not None else (u, du)
        rows, wide = _channel_rows(dim, u, delta, zz, dout, du, ddelta, dzz)
        b_strides, c_strides = ctx.bc_strides
        _launch_bwd(
            (dim, batch), *rows, A32, B, *b_strides, C, *c_strides,
            D32 if D32 is not None else A32, bias32 if bias32 is not None else A32, hstart,
            dfinal if dfinal is not None else A32, gcarry, dA, dB, dC,
            dD if dD is not None else dA, dbias if dbias is not None else dA,
            dh0 if dh0 is not None else dA, dim, length, state, dim // groups, groups,
            hstart.shape[1], HAS_DFINAL=dfinal is not None, HAS_DH0=want_dh0, WIDE=wide,
            WARPS=ctx.bwd_warps, BLOCK_L=ctx.block_l, BLOCK_N=_next_power_of_2(state),
            EVEN_L=length % ctx.block_l == 0, num_warps=ctx.bwd_warps, maxnreg=ctx.bwd_regs,
            **ctx.flags)
        # the float32 sums as summed: autograd's engine converts each gradient to its
        # input's dtype (dB and dC to 16-bit B's and C's) in C++, no host call here
        return (du, ddelta, dA, dB, dC, dD, dz, dbias, dh0, None, None, None, None)


@functools.lru_cache(maxsize=256)
def _launch_choice(config: ScanConfig, length: int) -> tuple:
    """(steps a chunk, (forward, backward) warps, (forward, backward) register caps) of a call
    of ``length`` steps under ``config``; ValueError (one line naming the field) where a
    field is out of range. Kept a (config, length): this runs on every call."""
    for name in ("block_fwd_warps", "block_bwd_warps"):
        warps = getattr(config, name)
        if warps < 0 or warps & (warps - 1):
            raise ValueError(f"ScanConfig.{name} must be 0 or a power of two, got {warps}")
    max_regs = (config.fwd_max_regs or 0, config.bwd_max_regs)
    check_max_regs("ScanConfig.fwd_max_regs", max_regs[0])
    check_max_regs("ScanConfig.bwd_max_regs", max_regs[1])
    block_l = block_length(length, config.block_l)
    return block_l, block_warps(block_l, config), max_regs


def selective_scan_block(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                         C: torch.Tensor, D: torch.Tensor | None, z: torch.Tensor | None,
                         delta_bias: torch.Tensor | None, delta_softplus: bool,
                         initial_state: torch.Tensor | None, needs_grad: bool,
                         config: ScanConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, final state) of an unpacked scan in the block layout: y (batch, dim, length) in u's
    dtype, the final state (batch, dim, state) float32; differentiable in every input when
    ``needs_grad``. From ``config`` only block_l (steps a chunk, 0: ``block_length``'s
    choice), block_fwd_warps and block_bwd_warps (0: one a STEPS_PER_WARP steps of a chunk,
    at most FWD_WARPS and BWD_WARPS), fwd_max_regs and bwd_max_regs (registers a thread of
    the forward and of the backward at most; 0 or None: the compiler's choice) apply."""
    launch = _launch_choice(config, u.shape[-1])
    stash = active_stash()
    if not needs_grad and stash is None:    # no graph to record: autograd's apply skipped
        block_l, warps, max_regs = launch
        inputs = _kernel_inputs(u, delta, A, B, C, D, z, delta_bias, initial_state)
        _, _, _, _, _, D32, z, bias32, _ = inputs
        out, final, _ = _block_forward(*inputs, _flags(D32, z, bias32, delta_softplus), False,
                                       block_l, warps[0], max_regs[0])
        return out, final
    return _BlockScanFn.apply(u, delta, A, B, C, D, z, delta_bias, initial_state,
                              delta_softplus, needs_grad, launch, stash)
