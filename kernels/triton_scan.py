"""Fused selective scan in Triton: forward and backward, parallel over batch, channels and length.

The tile layout. ``selective_scan_triton`` sends unpacked calls with enough channel rows to fill
the GPU to the block layout instead (``kernels.triton_block_scan``; ``ScanConfig.layout``).

Same contract as ``kernels.scan_reference.selective_scan_ref``: u, delta, z (batch, dim, length)
in float32/bfloat16/float16; A (dim, state) float32; B, C (batch, state, length) or (batch,
groups, state, length); D, delta_bias (dim,); initial_state (batch, dim, state). u, delta and
z are read in place whenever their steps are adjacent (length stride 1, any batch and channel
strides, so the channel rows of a Mamba block's channel-major projections need no copy); the
output's gradient is read in place in any layout (a channels-last one a step at a time).
The state is float32 in registers; nothing of size (batch, dim, length, state) is written to
memory.

Layout. One lane owns one channel: its ``state`` values of h live in that thread's registers,
so the recurrence h = exp(delta * A) * h + delta * B * u runs step by step inside the thread
with no communication, and sums over the state (C . h) stay in registers too. A program is
``BLOCK_D = 32 * num_warps`` channels of one batch row (all in one B/C group) and one *chunk*
of the length, walked in tiles of ``BLOCK_T`` steps: a tile of u, delta, z, y (BLOCK_T,
BLOCK_D) is loaded at once and its columns are picked out in registers. B and C are read per
step as one float32 row [B_t | C_t] of a copy laid out (batch, groups, padded length, 2,
BLOCK_N), zero past the length and the state, so no load needs a mask; while a tile is being
scanned, every lane touches one line of the next tile's inputs, so they wait in L1.

Arithmetic. exp2 with log2(e) folded into A; softplus as max(x, 0) + log1p(exp(-|x|)) (a
series below 1/16, the hardware's approximate log2 above, on the GPU) and the gate's sigmoid
with the approximate reciprocal: the per-channel work a step is small against the state's.

Forward (three launches when the length is split into several chunks, one otherwise):
  1. ``_chunk_state_kernel``: every chunk but the last scanned from a zero state: its end state
     and its sum of delta (the chunk's total decay is exp(A * that sum));
  2. ``_chunk_combine_kernel``: walks the chunks in order; the state carried into each chunk;
  3. ``_fwd_scan_kernel``: rescans every chunk from its carried-in state and writes y (with
     the D * u term and the silu(z) gate), the final state and, when a backward will follow,
     the state at every tile start, or at every n-th (``ScanConfig.tiles_per_state``; 1/n of
     the memory), (batch, length / (n BLOCK_T), dim, state) float32.
The number of chunks fills the GPU in one wave of resident programs, counted from the
registers of the compiled kernels (``_RESIDENT``).

Backward, with the adjoint g_t = dL/dh_t = C_t * dy_t + exp(delta_{t+1} A) * g_{t+1}:
  1. ``_chunk_adjoint_kernel``: every chunk but the first walked backwards from a zero adjoint:
     exp(delta_c0 A) * g_c0 at its first step c0, and its sum of delta;
  2. ``_chunk_combine_kernel`` in reverse: the adjoint carried into each chunk from the right,
     starting from the final state's gradient;
  3. ``_bwd_scan_kernel``: each tile, last to first: states recomputed forward from the saved
     tile-start state and kept in registers, then the adjoint walked backwards and every
     gradient formed. With a state saved every n tiles, each group of n tiles is first
     scanned forward once from its saved state, its tile starts written to a small scratch
     (one group's per program) and read back tile by tile. dB and dC (sums over channels,
     reduced across the program's lanes) are added with float32 atomics every step; dD and
     d(delta_bias) (sums over batch and time) are accumulated in registers, dA in the
     program's own row of memory (registers are short in this kernel), and all three are
     added atomically once per program.

Packed sequences (``cu_seqlens``, batch 1): every step reads its sequence index and whether
it starts or ends a sequence. At a start the state is replaced by the sequence's initial
state (or zero) before the update, at an end it is written as that sequence's final state;
backwards, dfinal joins the adjoint at ends and the adjoint reaching a start becomes that
sequence's initial-state gradient, then stops. The combines let nothing pass through a chunk
in which a sequence starts. All of it is behind the VARLEN compile-time flag, so unpacked
calls compile to the same code as before.

GPU-only code (the approximate log2, the prefetching touches) sits behind the FAST
compile-time flag, off under Triton's interpreter, where the same math runs in plain
operations.

Chunk lengths are multiples of 16 steps: Triton specialises integer arguments on divisibility
by 16, so every chunk (and tile) start is then known to be aligned and a lane's steps load as
one vector; with an odd number of tiles per chunk the compiler had to assume misaligned loads,
chose other layouts and ran out of registers (255 where 90 suffice).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import triton
import triton.language as tl
from triton.language.extra import libdevice

from .backend import grad_wanted, multiprocessor_count, triton_interpreted
from .varlen import sequence_ids

SUPPORTED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)

_LOG2E = tl.constexpr(1.4426950408889634)
_LN2 = tl.constexpr(0.6931471805599453)


# ----------------------------------------------------------------------------- jit helpers

@triton.jit
def _col(tile, sel):
    """Column ``sel`` (a one-hot (BLOCK_T, 1) mask of compile-time steps) of a (BLOCK_T, X)
    tile held in registers: a register pick once compiled (x + -0.0 == x folds away)."""
    return tl.sum(tl.where(sel, tile, -0.0), axis=0)


@triton.jit
def _rows(pid_b, offs_d, s_b, s_d):
    """int64 offset of every channel's row of a (batch, dim, length) tensor with strides
    (s_b, s_d, .) in batch row ``pid_b``: (BLOCK_D,)."""
    return pid_b * s_b + offs_d.to(tl.int64) * s_d


@triton.jit
def _load_act(ptr, rows, t0, s_t, mask_d, length, BLOCK_T: tl.constexpr, ROWS: tl.constexpr):
    """float32 (BLOCK_T, BLOCK_D) tile of steps t0 .. t0 + BLOCK_T of the channels whose row
    offsets are ``rows`` (BLOCK_D,), for a length stride ``s_t``; 0 outside the channels and
    the length. ROWS (memory whose channels, not steps, are adjacent): one load a step, each
    lane its channel, a coalesced row across the warp."""
    t = t0 + tl.arange(0, BLOCK_T)
    if ROWS:
        tile = tl.zeros([BLOCK_T, rows.shape[0]], dtype=tl.float32)
        for s in tl.static_range(BLOCK_T):
            row = tl.load(ptr + rows + (t0 + s).to(tl.int64) * s_t,
                          mask=mask_d & (t0 + s < length), other=0.0)
            tile = tl.where((tl.arange(0, BLOCK_T) == s)[:, None], row.to(tl.float32)[None, :],
                            tile)
        return tile
    else:
        offs = rows[None, :] + (t.to(tl.int64) * s_t)[:, None]
        mask = mask_d[None, :] & (t < length)[:, None]
        return tl.load(ptr + offs, mask=mask, other=0.0).to(tl.float32)


@triton.jit
def _store_act(ptr, rows, t0, s_t, tile, mask_d, length, BLOCK_T: tl.constexpr):
    """Store a (BLOCK_T, BLOCK_D) float32 tile as ``_load_act`` reads one, in ptr's dtype."""
    t = t0 + tl.arange(0, BLOCK_T)
    offs = rows[None, :] + (t.to(tl.int64) * s_t)[:, None]
    mask = mask_d[None, :] & (t < length)[:, None]
    tl.store(ptr + offs, tile.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def _sigmoid(x):
    """1 / (1 + exp(-x)) in float32 with the approximate reciprocal (2 ulp)."""
    return tl.fdiv(1.0, 1.0 + tl.exp(-x), ieee_rounding=False)


@triton.jit
def _softplus(raw, FAST: tl.constexpr):
    """log(1 + exp(raw)) = max(raw, 0) + log1p(exp(-|raw|)) in float32, accurate relative to
    the result for very negative raw too: log1p(e) by its series to e^5 for e < 1/16 (error
    below e^6 / 6, 2e-7 relative), else by log2(1 + e) (FAST: the hardware's approximate
    log2, absolute error 2^-22, relative error below 2e-6 there)."""
    e = tl.exp(-tl.abs(raw))
    series = e * (1.0 + e * (-0.5 + e * (0.3333333333333333 + e * (-0.25 + e * 0.2))))
    if FAST:
        lg = libdevice.fast_log2f(1.0 + e)
    else:
        lg = tl.log2(1.0 + e)
    return tl.maximum(raw, 0.0) + tl.where(e < 0.0625, series, lg * _LN2)


@triton.jit
def _dt_tile(delta_ptr, rows, t0, s_t, mask_d, length, bias, SOFTPLUS: tl.constexpr,
             FAST: tl.constexpr, BLOCK_T: tl.constexpr):
    """delta + bias (softplus'ed when asked) as float32 (BLOCK_T, BLOCK_D), 0 outside the
    channels and the length (padded steps then decay by exp(0) = 1 and add nothing)."""
    raw = _load_act(delta_ptr, rows, t0, s_t, mask_d, length, BLOCK_T, False) + bias[None, :]
    if SOFTPLUS:
        dt = _softplus(raw, FAST)
    else:
        dt = raw
    inside = mask_d[None, :] & (t0 + tl.arange(0, BLOCK_T) < length)[:, None]
    return tl.where(inside, dt, 0.0)


@triton.jit
def _scaled_A(A_ptr, offs_d, offs_n, mask_nd, state):
    """A * log2(e) of the states ``offs_n`` of channels ``offs_d``: (BLOCK_N, BLOCK_D) float32."""
    A = tl.load(A_ptr + offs_d[None, :] * state + offs_n[:, None], mask=mask_nd, other=0.0)
    return A.to(tl.float32) * _LOG2E


@triton.jit
def _setup(A_ptr, bias_ptr, dim, state, HAS_BIAS: tl.constexpr, BLOCK_D: tl.constexpr,
           BLOCK_N: tl.constexpr):
    """This program's channels (lanes) and states, their masks, A * log2(e) as (BLOCK_N,
    BLOCK_D) and the delta bias (BLOCK_D,)."""
    pid_b = tl.program_id(2).to(tl.int64)
    offs_d = tl.program_id(0) * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    mask_d = offs_d < dim
    mask_nd = (offs_n[:, None] < state) & mask_d[None, :]
    A2 = _scaled_A(A_ptr, offs_d, offs_n, mask_nd, state)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    else:
        bias = tl.zeros([BLOCK_D], dtype=tl.float32)
    return pid_b, offs_d, offs_n, mask_d, mask_nd, A2, bias


@triton.jit
def _bc_base(pid_b, dim, dim_per_group, length_pad, BLOCK_D: tl.constexpr,
             BLOCK_N: tl.constexpr):
    """Offset of this program's group's (padded length, 2, BLOCK_N) block of the [B | C]
    copy."""
    group = (tl.program_id(0) * BLOCK_D) // dim_per_group
    return (pid_b * (dim // dim_per_group) + group) * length_pad * (2 * BLOCK_N)


@triton.jit
def _bc(BC_ptr, bc_base, t, offs_n, BLOCK_N: tl.constexpr):
    """B_t and C_t (BLOCK_N,) float32 from the padded [B | C] copy (no mask needed)."""
    row = BC_ptr + bc_base + t * (2 * BLOCK_N) + offs_n
    return tl.load(row), tl.load(row + BLOCK_N)


@triton.jit
def _touch(junk, ptr, rows, t, s_t, length, mask_d, BLOCK_T: tl.constexpr):
    """Prefetch: every lane loads one element of the tile of steps t .. t + BLOCK_T of its
    channel (lane i step t + i % BLOCK_T), so the lines of a tile read next are in L1 when it
    starts; returns ``junk`` plus the values (kept alive until ``_keep``)."""
    step = t + tl.arange(0, rows.shape[0]) % BLOCK_T
    v = tl.load(ptr + rows + step.to(tl.int64) * s_t, mask=mask_d & (step >= 0) & (step < length),
                other=0.0)
    return junk + v.to(tl.float32)


@triton.jit
def _touch_bc(junk, BC_ptr, bc_base, t, length_pad, BLOCK_D: tl.constexpr,
              BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr):
    """Prefetch the [B | C] rows of steps t .. t + BLOCK_T (lane i: row t + i % BLOCK_T)."""
    step = t + tl.arange(0, BLOCK_D) % BLOCK_T
    v = tl.load(BC_ptr + bc_base + step * (2 * BLOCK_N), mask=(step >= 0) & (step < length_pad),
                other=0.0)
    return junk + v


@triton.jit
def _keep(junk, junk_ptr, offs_d, length):
    """Consume the prefetched values: a store whose mask is never true (length >= 1), which
    the compiler cannot drop, so neither can it drop the loads."""
    tl.store(junk_ptr + offs_d, junk, mask=length < 0)


@triton.jit
def _state_offsets(row, dim, state, offs_d, offs_n):
    """Offsets of a (BLOCK_N, BLOCK_D) block at index ``row`` of a (..., dim, state) tensor."""
    return row * dim * state + offs_d[None, :] * state + offs_n[:, None]


@triton.jit
def _position(meta_ptr, t, length):
    """Packed sequences: (index of the sequence step t belongs to, whether t starts it,
    whether t ends it), from meta[t] = index * 4 + 2 * ends + starts."""
    m = tl.load(meta_ptr + t, mask=t < length, other=0)
    return m >> 2, (m & 1) != 0, (m & 2) != 0


@triton.jit
def _restart(h, start, seq, init_ptr, dim, state, offs_d, offs_n, mask_nd,
             HAS_INIT: tl.constexpr):
    """h, or where a sequence starts, the state it starts from: init[seq] or zero."""
    if HAS_INIT:
        h0 = tl.load(init_ptr + _state_offsets(seq, dim, state, offs_d, offs_n),
                     mask=mask_nd & start, other=0.0)
    else:
        h0 = tl.zeros(h.shape, dtype=tl.float32)
    return tl.where(start, h0, h)


# ----------------------------------------------------------------------------- forward

@triton.jit
def _chunk_state_kernel(u_ptr, su_b, su_d, su_t, delta_ptr, sdl_b, sdl_d, sdl_t,
                        bias_ptr, A_ptr, BC_ptr, state_ptr, dsum_ptr, meta_ptr, init_ptr,
                        junk_ptr, dim, length, length_pad, state, dim_per_group, chunk_len,
                        n_chunks, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
                        VARLEN: tl.constexpr, HAS_INIT: tl.constexpr, FAST: tl.constexpr,
                        BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr):
    """Grid (dim blocks, chunks - 1, batch). Chunk c scanned from a zero state: its end state to
    state[b, c] (dim, state) and its sum of delta to dsum[b, c] (dim,), both float32. VARLEN:
    the state restarts at sequence starts (meta, see ``_position``) from init[seq] (HAS_INIT)
    or zero."""
    pid_c = tl.program_id(1)
    pid_b, offs_d, offs_n, mask_d, mask_nd, A2, bias = _setup(
        A_ptr, bias_ptr, dim, state, HAS_BIAS, BLOCK_D, BLOCK_N)
    bc_base = _bc_base(pid_b, dim, dim_per_group, length_pad, BLOCK_D, BLOCK_N)
    rows_u = _rows(pid_b, offs_d, su_b, su_d)
    rows_dl = _rows(pid_b, offs_d, sdl_b, sdl_d)
    offs_t = tl.arange(0, BLOCK_T)
    h = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    dsum = tl.zeros([BLOCK_D], dtype=tl.float32)
    junk = tl.zeros([BLOCK_D], dtype=tl.float32)
    t_start = pid_c * chunk_len
    for t0 in range(t_start, t_start + chunk_len, BLOCK_T):
        if FAST:
            junk = _touch(junk, u_ptr, rows_u, t0 + BLOCK_T, su_t, length, mask_d, BLOCK_T)
            junk = _touch(junk, delta_ptr, rows_dl, t0 + BLOCK_T, sdl_t, length, mask_d, BLOCK_T)
            junk = _touch_bc(junk, BC_ptr, bc_base, t0 + BLOCK_T, length_pad, BLOCK_D, BLOCK_N,
                             BLOCK_T)
        dt = _dt_tile(delta_ptr, rows_dl, t0, sdl_t, mask_d, length, bias, SOFTPLUS, FAST,
                         BLOCK_T)
        dtu = dt * _load_act(u_ptr, rows_u, t0, su_t, mask_d, length, BLOCK_T, False)
        for s in tl.static_range(BLOCK_T):
            sel = (offs_t == s)[:, None]
            Bs, _ = _bc(BC_ptr, bc_base, t0 + s, offs_n, BLOCK_N)
            if VARLEN:
                seq, start, _ = _position(meta_ptr, t0 + s, length)
                h = _restart(h, start, seq, init_ptr, dim, state, offs_d, offs_n, mask_nd,
                             HAS_INIT)
            h = tl.exp2(_col(dt, sel)[None, :] * A2) * h + _col(dtu, sel)[None, :] * Bs[:, None]
        dsum += tl.sum(dt, axis=0)
    row = pid_b * n_chunks + pid_c
    tl.store(state_ptr + _state_offsets(row, dim, state, offs_d, offs_n), h, mask=mask_nd)
    tl.store(dsum_ptr + row * dim + offs_d, dsum, mask=mask_d)
    if FAST:
        _keep(junk, junk_ptr, offs_d, length)


@triton.jit
def _chunk_combine_kernel(A_ptr, local_ptr, dsum_ptr, init_ptr, reset_ptr, carry_ptr, dim, state,
                          n_chunks, HAS_INIT: tl.constexpr, REVERSE: tl.constexpr,
                          VARLEN: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    """Grid (dim blocks, 1, batch). Walks the chunks (backwards when REVERSE) carrying
    x <- exp(A * dsum[b, c]) * x + local[b, c] from init[b] (or zero) and stores the value
    carried INTO each chunk as carry[b, c]. local, carry: (batch, n_chunks, dim, state);
    dsum: (batch, n_chunks, dim); init: (batch, dim, state); all float32. VARLEN: nothing
    passes through a chunk in which a sequence starts (reset[c] != 0, int32 (n_chunks,))."""
    pid_b, offs_d, offs_n, mask_d, mask_nd, A2, bias = _setup(
        A_ptr, A_ptr, dim, state, False, BLOCK_D, BLOCK_N)
    if HAS_INIT:
        x = tl.load(init_ptr + _state_offsets(pid_b, dim, state, offs_d, offs_n), mask=mask_nd,
                    other=0.0)
    else:
        x = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    for i in range(n_chunks):
        if REVERSE:
            c = n_chunks - 1 - i
        else:
            c = i
        row = pid_b * n_chunks + c
        offs = _state_offsets(row, dim, state, offs_d, offs_n)
        tl.store(carry_ptr + offs, x, mask=mask_nd)
        if i < n_chunks - 1:
            s = tl.load(dsum_ptr + row * dim + offs_d, mask=mask_d, other=0.0)
            local = tl.load(local_ptr + offs, mask=mask_nd, other=0.0)
            decay = tl.exp2(A2 * s[None, :])
            if VARLEN:
                decay = tl.where(tl.load(reset_ptr + c) != 0, 0.0, decay)
            x = decay * x + local


@triton.jit
def _fwd_scan_kernel(u_ptr, su_b, su_d, su_t, delta_ptr, sdl_b, sdl_d, sdl_t,
                     z_ptr, sz_b, sz_d, sz_t, out_ptr, so_b, so_d, so_t,
                     bias_ptr, A_ptr, BC_ptr, D_ptr, h0_ptr, h0_rows_per_batch, tiles_ptr,
                     final_ptr, meta_ptr, init_ptr, junk_ptr,
                     dim, length, length_pad, state, dim_per_group, chunk_len, n_saved,
                     HAS_H0: tl.constexpr, HAS_D: tl.constexpr, HAS_Z: tl.constexpr,
                     HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, STORE_TILES: tl.constexpr,
                     TILES_PER_STATE: tl.constexpr, VARLEN: tl.constexpr,
                     HAS_INIT: tl.constexpr, FAST: tl.constexpr,
                     BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr):
    """Grid (dim blocks, chunks, batch). Scans chunk c from h0[b * h0_rows_per_batch + c]
    (rows of (dim, state); h0_rows_per_batch is 1 for initial_state, n_chunks for carries) and
    writes out (batch, dim, length, its own strides) in out's dtype; the last chunk writes
    final (batch, dim, state) float32; STORE_TILES writes the state at the start of every
    TILES_PER_STATE-th tile to tiles (batch, n_saved, dim, state) float32. VARLEN (batch 1):
    the state restarts at every sequence start from init[seq] (HAS_INIT) or zero, and each
    sequence's last state goes to final[seq]."""
    pid_c = tl.program_id(1)
    pid_b, offs_d, offs_n, mask_d, mask_nd, A2, bias = _setup(
        A_ptr, bias_ptr, dim, state, HAS_BIAS, BLOCK_D, BLOCK_N)
    bc_base = _bc_base(pid_b, dim, dim_per_group, length_pad, BLOCK_D, BLOCK_N)
    rows_u = _rows(pid_b, offs_d, su_b, su_d)
    rows_dl = _rows(pid_b, offs_d, sdl_b, sdl_d)
    rows_z = _rows(pid_b, offs_d, sz_b, sz_d)
    rows_o = _rows(pid_b, offs_d, so_b, so_d)
    offs_t = tl.arange(0, BLOCK_T)
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    if HAS_H0:
        h = tl.load(h0_ptr + _state_offsets(pid_b * h0_rows_per_batch + pid_c, dim, state,
                                            offs_d, offs_n), mask=mask_nd, other=0.0)
    else:
        h = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    junk = tl.zeros([BLOCK_D], dtype=tl.float32)
    t_start = pid_c * chunk_len
    t_end = tl.minimum(t_start + chunk_len, length)
    for t0 in range(t_start, t_end, BLOCK_T):
        if FAST:
            junk = _touch(junk, u_ptr, rows_u, t0 + BLOCK_T, su_t, length, mask_d, BLOCK_T)
            junk = _touch(junk, delta_ptr, rows_dl, t0 + BLOCK_T, sdl_t, length, mask_d, BLOCK_T)
            if HAS_Z:
                junk = _touch(junk, z_ptr, rows_z, t0 + BLOCK_T, sz_t, length, mask_d, BLOCK_T)
            junk = _touch_bc(junk, BC_ptr, bc_base, t0 + BLOCK_T, length_pad, BLOCK_D, BLOCK_N,
                             BLOCK_T)
        if STORE_TILES:
            tile = t0 // BLOCK_T
            tl.store(tiles_ptr + _state_offsets(pid_b * n_saved + tile // TILES_PER_STATE, dim,
                                                state, offs_d, offs_n), h,
                     mask=mask_nd & (tile % TILES_PER_STATE == 0))
        dt = _dt_tile(delta_ptr, rows_dl, t0, sdl_t, mask_d, length, bias, SOFTPLUS, FAST,
                         BLOCK_T)
        u = _load_act(u_ptr, rows_u, t0, su_t, mask_d, length, BLOCK_T, False)
        dtu = dt * u
        y = tl.zeros([BLOCK_T, BLOCK_D], dtype=tl.float32)
        for s in tl.static_range(BLOCK_T):
            sel = (offs_t == s)[:, None]
            Bs, Cs = _bc(BC_ptr, bc_base, t0 + s, offs_n, BLOCK_N)
            if VARLEN:
                seq, start, end = _position(meta_ptr, t0 + s, length)
                h = _restart(h, start, seq, init_ptr, dim, state, offs_d, offs_n, mask_nd,
                             HAS_INIT)
            h = tl.exp2(_col(dt, sel)[None, :] * A2) * h + _col(dtu, sel)[None, :] * Bs[:, None]
            if VARLEN:
                tl.store(final_ptr + _state_offsets(seq, dim, state, offs_d, offs_n), h,
                         mask=mask_nd & end)
            y = tl.where(sel, tl.sum(h * Cs[:, None], axis=0)[None, :], y)
        if HAS_D:
            y += Dv[None, :] * u
        if HAS_Z:
            z = _load_act(z_ptr, rows_z, t0, sz_t, mask_d, length, BLOCK_T, False)
            y *= z * _sigmoid(z)
        _store_act(out_ptr, rows_o, t0, so_t, y, mask_d, length, BLOCK_T)
    if not VARLEN:
        if t_end >= length:
            tl.store(final_ptr + _state_offsets(pid_b, dim, state, offs_d, offs_n), h,
                     mask=mask_nd)
    if FAST:
        _keep(junk, junk_ptr, offs_d, length)


# ----------------------------------------------------------------------------- backward

@triton.jit
def _gate(dout, z_ptr, rows_z, t0, sz_t, mask_d, length, HAS_Z: tl.constexpr,
          BLOCK_T: tl.constexpr):
    """dL/dy = dout * silu(z), and silu'(z) (1 without z), for out = y * silu(z)."""
    dy = dout
    dsilu = tl.full(dout.shape, 1.0, tl.float32)
    if HAS_Z:
        z = _load_act(z_ptr, rows_z, t0, sz_t, mask_d, length, BLOCK_T, False)
        sz = _sigmoid(z)
        dy = dout * z * sz
        dsilu = sz * (1.0 + z * (1.0 - sz))
    return dy, dsilu


@triton.jit
def _chunk_adjoint_kernel(delta_ptr, sdl_b, sdl_d, sdl_t, z_ptr, sz_b, sz_d, sz_t,
                          dout_ptr, sg_b, sg_d, sg_t, bias_ptr, A_ptr, BC_ptr, local_ptr,
                          dsum_ptr, meta_ptr, dfinal_ptr, junk_ptr, dim, length, length_pad,
                          state, dim_per_group, chunk_len, n_chunks, HAS_Z: tl.constexpr,
                          HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, VARLEN: tl.constexpr,
                          HAS_DFINAL: tl.constexpr, FAST: tl.constexpr, ROWS_G: tl.constexpr,
                          BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr):
    """Grid (dim blocks, chunks - 1, batch); program c walks chunk c + 1 backwards from a zero
    adjoint and writes exp(delta_c0 A) * g_c0 at its first step c0 to local[b, c + 1] (dim,
    state) and its sum of delta to dsum[b, c + 1] (dim,), both float32. VARLEN: the adjoint
    takes in dfinal[seq] (HAS_DFINAL) at each sequence's last step and stops at its first."""
    pid_c = tl.program_id(1) + 1
    pid_b, offs_d, offs_n, mask_d, mask_nd, A2, bias = _setup(
        A_ptr, bias_ptr, dim, state, HAS_BIAS, BLOCK_D, BLOCK_N)
    bc_base = _bc_base(pid_b, dim, dim_per_group, length_pad, BLOCK_D, BLOCK_N)
    rows_dl = _rows(pid_b, offs_d, sdl_b, sdl_d)
    rows_z = _rows(pid_b, offs_d, sz_b, sz_d)
    rows_g = _rows(pid_b, offs_d, sg_b, sg_d)
    offs_t = tl.arange(0, BLOCK_T)
    gn = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)   # exp(delta_t A) * g_t
    dsum = tl.zeros([BLOCK_D], dtype=tl.float32)
    junk = tl.zeros([BLOCK_D], dtype=tl.float32)
    t_start = pid_c * chunk_len
    n_steps = tl.cdiv(tl.minimum(chunk_len, length - t_start), BLOCK_T)
    for i in range(n_steps):
        t0 = t_start + (n_steps - 1 - i) * BLOCK_T
        if FAST:
            junk = _touch(junk, delta_ptr, rows_dl, t0 - BLOCK_T, sdl_t, length, mask_d, BLOCK_T)
            junk = _touch(junk, dout_ptr, rows_g, t0 - BLOCK_T, sg_t, length, mask_d, BLOCK_T)
            if HAS_Z:
                junk = _touch(junk, z_ptr, rows_z, t0 - BLOCK_T, sz_t, length, mask_d, BLOCK_T)
            junk = _touch_bc(junk, BC_ptr, bc_base, t0 - BLOCK_T, length_pad, BLOCK_D, BLOCK_N,
                             BLOCK_T)
        dt = _dt_tile(delta_ptr, rows_dl, t0, sdl_t, mask_d, length, bias, SOFTPLUS, FAST,
                         BLOCK_T)
        dy, _ = _gate(_load_act(dout_ptr, rows_g, t0, sg_t, mask_d, length, BLOCK_T, ROWS_G),
                      z_ptr, rows_z, t0, sz_t, mask_d, length, HAS_Z, BLOCK_T)
        for r in tl.static_range(BLOCK_T):
            s = BLOCK_T - 1 - r
            sel = (offs_t == s)[:, None]
            _, Cs = _bc(BC_ptr, bc_base, t0 + s, offs_n, BLOCK_N)
            g = Cs[:, None] * _col(dy, sel)[None, :] + gn
            if VARLEN:
                seq, start, end = _position(meta_ptr, t0 + s, length)
                if HAS_DFINAL:
                    g += tl.load(dfinal_ptr + _state_offsets(seq, dim, state, offs_d, offs_n),
                                 mask=mask_nd & end, other=0.0)
            gn = tl.exp2(_col(dt, sel)[None, :] * A2) * g
            if VARLEN:
                gn = tl.where(start, 0.0, gn)
        dsum += tl.sum(dt, axis=0)
    row = pid_b * n_chunks + pid_c
    tl.store(local_ptr + _state_offsets(row, dim, state, offs_d, offs_n), gn, mask=mask_nd)
    tl.store(dsum_ptr + row * dim + offs_d, dsum, mask=mask_d)
    if FAST:
        _keep(junk, junk_ptr, offs_d, length)


@triton.jit
def _recompute_step(h, t, sel, Bs, dt, dtu, A2, length, state, meta_ptr, init_ptr, dim, offs_d,
                    offs_n, mask_n, mask_d, VARLEN: tl.constexpr, HAS_INIT: tl.constexpr):
    """h (the states ``offs_n``) after step t, the tile's column ``sel``, from h before it:
    the restart of a packed sequence that starts there, then the recurrence."""
    if VARLEN:
        seq, start, _ = _position(meta_ptr, t, length)
        h = _restart(h, start, seq, init_ptr, dim, state, offs_d, offs_n,
                     mask_n[:, None] & mask_d[None, :], HAS_INIT)
    return tl.exp2(_col(dt, sel)[None, :] * A2) * h + _col(dtu, sel)[None, :] * Bs[:, None]


@triton.jit
def _advance(h, A2, t0, offs_t, offs_n, mask_n, dt, dtu, length, state, BC_ptr, bc_base,
             meta_ptr, init_ptr, dim, offs_d, mask_d, BLOCK_N: tl.constexpr,
             BLOCK_T: tl.constexpr, VARLEN: tl.constexpr, HAS_INIT: tl.constexpr):
    """h (the states ``offs_n``) at the start of the tile t0 -> at its end: the forward
    recurrence alone, with the restarts of packed sequences."""
    for s in tl.static_range(BLOCK_T):
        Bs, _ = _bc(BC_ptr, bc_base, t0 + s, offs_n, BLOCK_N)
        h = _recompute_step(h, t0 + s, (offs_t == s)[:, None], Bs, dt, dtu, A2, length, state,
                            meta_ptr, init_ptr, dim, offs_d, offs_n, mask_n, mask_d, VARLEN,
                            HAS_INIT)
    return h


@triton.jit
def _group_states(tiles_ptr, scratch_ptr, saved_row, slot_row, first, n_tiles, delta_ptr,
                  rows_dl, sdl_t, u_ptr, rows_u, su_t, bias, A_ptr, offs_t, offs_n, mask_nd,
                  length, state, BC_ptr, bc_base, meta_ptr, init_ptr, dim, offs_d, mask_d,
                  SOFTPLUS: tl.constexpr, FAST: tl.constexpr, SPLIT: tl.constexpr,
                  BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr, VARLEN: tl.constexpr,
                  HAS_INIT: tl.constexpr):
    """The states at the starts of tiles first .. first + n_tiles of a group, scanned from
    its saved state tiles[saved_row], to scratch rows slot_row .. slot_row + n_tiles (rows of
    (dim, state)); with SPLIT both halves of the states (offs_n and mask_nd are the first
    half's). Between barriers: a lane may read back, or overwrite, rows another lane wrote or
    has still to read."""
    HALF: tl.constexpr = BLOCK_N // SPLIT
    tl.debug_barrier()
    mask_n = offs_n < state
    A2 = _scaled_A(A_ptr, offs_d, offs_n, mask_nd, state)
    saved = tiles_ptr + _state_offsets(saved_row, dim, state, offs_d, offs_n)
    h = tl.load(saved, mask=mask_nd, other=0.0)
    if SPLIT == 2:
        offs_n2 = HALF + offs_n
        mask_n2 = offs_n2 < state
        mask_nd2 = mask_n2[:, None] & mask_d[None, :]
        A2_2 = _scaled_A(A_ptr, offs_d, offs_n2, mask_nd2, state)
        h2 = tl.load(saved + HALF, mask=mask_nd2, other=0.0)
    for k in range(n_tiles + 1):
        row = scratch_ptr + _state_offsets(slot_row + k, dim, state, offs_d, offs_n)
        tl.store(row, h, mask=mask_nd)
        if SPLIT == 2:
            tl.store(row + HALF, h2, mask=mask_nd2)
        if k < n_tiles:
            t0 = (first + k) * BLOCK_T
            dt = _dt_tile(delta_ptr, rows_dl, t0, sdl_t, mask_d, length, bias, SOFTPLUS, FAST,
                          BLOCK_T)
            dtu = dt * _load_act(u_ptr, rows_u, t0, su_t, mask_d, length, BLOCK_T, False)
            h = _advance(h, A2, t0, offs_t, offs_n, mask_n, dt, dtu, length, state, BC_ptr,
                         bc_base, meta_ptr, init_ptr, dim, offs_d, mask_d, BLOCK_N, BLOCK_T,
                         VARLEN, HAS_INIT)
            if SPLIT == 2:
                h2 = _advance(h2, A2_2, t0, offs_t, offs_n2, mask_n2, dt, dtu, length, state,
                              BC_ptr, bc_base, meta_ptr, init_ptr, dim, offs_d, mask_d, BLOCK_N,
                              BLOCK_T, VARLEN, HAS_INIT)
    tl.debug_barrier()


@triton.jit
def _bwd_tile_part(h, gn, A2, dA, t0, offs_t, offs_n, mask_n, dt, dtu, dy, length, state,
                   BC_ptr, dBC_ptr, bc_base,
                   gB_sum, gkA_sum, y_sum, meta_ptr, init_ptr, dfinal_ptr, dh0_ptr, dim, offs_d,
                   mask_d, BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr, VARLEN: tl.constexpr,
                   HAS_INIT: tl.constexpr, HAS_DFINAL: tl.constexpr):
    """One tile for the states ``offs_n`` (part of them, in registers): h is the state at the
    tile start, gn = exp(delta A) * g carried in from the step after the tile, dA the running
    dL/dA.
    Adds this part's sums over the state of g * B, g * A * a * h_prev and C * h into the
    (BLOCK_T, BLOCK_D) accumulators and its channel sums into dB, dC (float32, in the padded
    [dB | dC] layout of the [B | C] copy). VARLEN: states restart at sequence starts (from
    init[seq] with HAS_INIT, whose gradient goes to dh0[seq]); dfinal[seq] (HAS_DFINAL) joins
    the adjoint at each sequence's end. Returns h, gn, dA, gB_sum, gkA_sum, y_sum."""
    A = A2 * _LN2
    hs = tl.zeros([BLOCK_T, h.shape[0], h.shape[1]], dtype=tl.float32)
    for s in tl.static_range(BLOCK_T):
        sel = (offs_t == s)[:, None]
        Bs, Cs = _bc(BC_ptr, bc_base, t0 + s, offs_n, BLOCK_N)
        h = _recompute_step(h, t0 + s, sel, Bs, dt, dtu, A2, length, state, meta_ptr, init_ptr,
                            dim, offs_d, offs_n, mask_n, mask_d, VARLEN, HAS_INIT)
        hs = tl.where(sel[:, :, None], h[None, :, :], hs)
        y_sum += tl.where(sel, tl.sum(h * Cs[:, None], axis=0)[None, :], -0.0)
        tl.atomic_add(dBC_ptr + bc_base + (t0 + s) * (2 * BLOCK_N) + BLOCK_N + offs_n,
                      tl.sum(h * _col(dy, sel)[None, :], axis=1), mask=mask_n, sem="relaxed")
    for r in tl.static_range(BLOCK_T):
        s = BLOCK_T - 1 - r
        sel = (offs_t == s)[:, None]
        Bs, Cs = _bc(BC_ptr, bc_base, t0 + s, offs_n, BLOCK_N)
        dt_s = _col(dt, sel)[None, :]
        dtu_s = _col(dtu, sel)[None, :]
        h_s = tl.sum(tl.where(sel[:, :, None], hs, -0.0), axis=0)
        g = Cs[:, None] * _col(dy, sel)[None, :] + gn                # dL/dh_t
        if VARLEN:
            seq, start, end = _position(meta_ptr, t0 + s, length)
            mask_nd = mask_n[:, None] & mask_d[None, :]
            if HAS_DFINAL:
                g += tl.load(dfinal_ptr + _state_offsets(seq, dim, state, offs_d, offs_n),
                             mask=mask_nd & end, other=0.0)
        gk = g * (h_s - dtu_s * Bs[:, None])                         # g_t * a_t * h_{t-1}
        gB_sum += tl.where(sel, tl.sum(g * Bs[:, None], axis=0)[None, :], -0.0)
        gkA_sum += tl.where(sel, tl.sum(gk * A, axis=0)[None, :], -0.0)
        dA += gk * dt_s
        tl.atomic_add(dBC_ptr + bc_base + (t0 + s) * (2 * BLOCK_N) + offs_n,
                      tl.sum(g * dtu_s, axis=1), mask=mask_n, sem="relaxed")
        gn = tl.exp2(dt_s * A2) * g
        if VARLEN:
            if HAS_INIT:
                tl.store(dh0_ptr + _state_offsets(seq, dim, state, offs_d, offs_n), gn,
                         mask=mask_nd & start)
            gn = tl.where(start, 0.0, gn)
    return h, gn, dA, gB_sum, gkA_sum, y_sum


@triton.jit
def _bwd_scan_kernel(u_ptr, su_b, su_d, su_t, delta_ptr, sdl_b, sdl_d, sdl_t,
                     z_ptr, sz_b, sz_d, sz_t, dout_ptr, sg_b, sg_d, sg_t,
                     du_ptr, sdu_b, sdu_d, sdu_t, ddelta_ptr, sdd_b, sdd_d, sdd_t,
                     dz_ptr, sdz_b, sdz_d, sdz_t,
                     bias_ptr, A_ptr, BC_ptr, D_ptr, tiles_ptr, carry_ptr, carry_rows_per_batch,
                     dA_ptr, dBC_ptr, dD_ptr, dbias_ptr, dh0_ptr, meta_ptr, init_ptr, dfinal_ptr,
                     junk_ptr, scratch_ptr, dA_part_ptr, dim, length, length_pad, state,
                     dim_per_group,
                     chunk_len, n_saved, HAS_CARRY: tl.constexpr, HAS_D: tl.constexpr,
                     HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
                     HAS_DH0: tl.constexpr, VARLEN: tl.constexpr, HAS_INIT: tl.constexpr,
                     HAS_DFINAL: tl.constexpr, SPLIT: tl.constexpr,
                     TILES_PER_STATE: tl.constexpr, FAST: tl.constexpr, ROWS_G: tl.constexpr,
                     BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr):
    """Grid (dim blocks, chunks, batch). Walks chunk c's tiles last to first, starting from the
    adjoint carry[b * carry_rows_per_batch + c] (dim, state) = exp(delta A) * g of the step
    after the chunk. Writes du, ddelta, dz (batch, dim, length, their own strides) in their
    tensors' dtypes and, from chunk 0, dh0 (batch, dim, state); adds into the float32
    accumulators dA (dim, state), dBC (the padded [dB | dC] layout of the [B | C] copy), dD,
    dbias (dim,), dA through the program's row of dA_part (batch, chunks, dim, state) float32.
    With SPLIT the states are handled in two halves of BLOCK_N // 2, so that a tile's states
    fit in registers. VARLEN: see ``_bwd_tile_part``; dh0 (n_seqs, dim, state) is then
    written by the program holding each sequence's first step.

    The state at each tile start comes from tiles (batch, n_saved, dim, state), which the
    forward filled at every TILES_PER_STATE-th tile start (a chunk is a whole number of such
    groups of tiles). With TILES_PER_STATE > 1, on entering a group (at its end) the program
    scans the group forward from its saved state once (``_group_states``), writing its tile
    starts to the program's own rows of scratch (batch, chunks, TILES_PER_STATE, dim, state)
    float32, and reads them back while it walks the group backwards."""
    pid_c = tl.program_id(1)
    HALF: tl.constexpr = BLOCK_N // SPLIT
    # A * log2(e) is not kept from _setup: every tile reads it again (see below)
    pid_b, offs_d, offs_n, mask_d, mask_nd, _, bias = _setup(
        A_ptr, bias_ptr, dim, state, HAS_BIAS, BLOCK_D, HALF)
    bc_base = _bc_base(pid_b, dim, dim_per_group, length_pad, BLOCK_D, BLOCK_N)
    rows_u = _rows(pid_b, offs_d, su_b, su_d)
    rows_dl = _rows(pid_b, offs_d, sdl_b, sdl_d)
    rows_z = _rows(pid_b, offs_d, sz_b, sz_d)
    rows_g = _rows(pid_b, offs_d, sg_b, sg_d)
    rows_du = _rows(pid_b, offs_d, sdu_b, sdu_d)
    rows_dd = _rows(pid_b, offs_d, sdd_b, sdd_d)
    rows_dz = _rows(pid_b, offs_d, sdz_b, sdz_d)
    offs_t = tl.arange(0, BLOCK_T)
    mask_n = offs_n < state
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    else:
        Dv = tl.zeros([BLOCK_D], dtype=tl.float32)
    carry_off = _state_offsets(pid_b * carry_rows_per_batch + pid_c, dim, state, offs_d, offs_n)
    if HAS_CARRY:
        gn = tl.load(carry_ptr + carry_off, mask=mask_nd, other=0.0)
    else:
        gn = tl.zeros([HALF, BLOCK_D], dtype=tl.float32)
    # dA summed over the chunk's steps in the program's own row of dA_part (batch, chunks,
    # dim, state) float32, not in registers (fewer spills), and added into dA_ptr at the end
    dA_row = dA_part_ptr + _state_offsets(pid_b * tl.num_programs(1) + pid_c, dim, state,
                                          offs_d, offs_n)
    tl.store(dA_row, tl.zeros([HALF, BLOCK_D], dtype=tl.float32), mask=mask_nd)
    if SPLIT == 2:
        offs_n2 = HALF + offs_n
        mask_n2 = offs_n2 < state
        mask_nd2 = mask_n2[:, None] & mask_d[None, :]
        if HAS_CARRY:
            gn2 = tl.load(carry_ptr + carry_off + HALF, mask=mask_nd2, other=0.0)
        else:
            gn2 = tl.zeros([HALF, BLOCK_D], dtype=tl.float32)
        tl.store(dA_row + HALF, tl.zeros([HALF, BLOCK_D], dtype=tl.float32), mask=mask_nd2)
    dD = tl.zeros([BLOCK_D], dtype=tl.float32)
    dbias = tl.zeros([BLOCK_D], dtype=tl.float32)
    junk = tl.zeros([BLOCK_D], dtype=tl.float32)
    t_start = pid_c * chunk_len
    n_steps = tl.cdiv(tl.minimum(chunk_len, length - t_start), BLOCK_T)
    for i in range(n_steps):
        t0 = t_start + (n_steps - 1 - i) * BLOCK_T
        if FAST:
            tp = t0 - BLOCK_T
            junk = _touch(junk, u_ptr, rows_u, tp, su_t, length, mask_d, BLOCK_T)
            junk = _touch(junk, delta_ptr, rows_dl, tp, sdl_t, length, mask_d, BLOCK_T)
            junk = _touch(junk, dout_ptr, rows_g, tp, sg_t, length, mask_d, BLOCK_T)
            if HAS_Z:
                junk = _touch(junk, z_ptr, rows_z, tp, sz_t, length, mask_d, BLOCK_T)
            junk = _touch_bc(junk, BC_ptr, bc_base, tp, length_pad, BLOCK_D, BLOCK_N, BLOCK_T)
        dt = _dt_tile(delta_ptr, rows_dl, t0, sdl_t, mask_d, length, bias, SOFTPLUS, FAST,
                         BLOCK_T)
        dy, _ = _gate(_load_act(dout_ptr, rows_g, t0, sg_t, mask_d, length, BLOCK_T, ROWS_G),
                      z_ptr, rows_z, t0, sz_t, mask_d, length, HAS_Z, BLOCK_T)
        dtu = dt * _load_act(u_ptr, rows_u, t0, su_t, mask_d, length, BLOCK_T, False)
        gB = tl.zeros([BLOCK_T, BLOCK_D], dtype=tl.float32)
        gkA = tl.zeros([BLOCK_T, BLOCK_D], dtype=tl.float32)
        y = tl.zeros([BLOCK_T, BLOCK_D], dtype=tl.float32)
        tile = t0 // BLOCK_T
        if TILES_PER_STATE == 1:
            tile_ptr = tiles_ptr + _state_offsets(pid_b * n_saved + tile, dim, state, offs_d,
                                                  offs_n)
        else:
            slot = tile % TILES_PER_STATE
            slot_row = (pid_b * tl.num_programs(1) + pid_c) * TILES_PER_STATE
            if (i == 0) | (slot == TILES_PER_STATE - 1):          # entering a group
                _group_states(tiles_ptr, scratch_ptr, pid_b * n_saved + tile // TILES_PER_STATE,
                              slot_row, tile - slot, slot, delta_ptr, rows_dl, sdl_t, u_ptr,
                              rows_u, su_t, bias, A_ptr, offs_t, offs_n, mask_nd, length,
                              state, BC_ptr, bc_base, meta_ptr, init_ptr, dim, offs_d, mask_d,
                              SOFTPLUS, FAST, SPLIT, BLOCK_N, BLOCK_T, VARLEN, HAS_INIT)
            tile_ptr = scratch_ptr + _state_offsets(slot_row + slot, dim, state, offs_d, offs_n)
        # A * log2(e) read again every tile (an L1 hit) rather than held: fewer spills
        h = tl.load(tile_ptr, mask=mask_nd, other=0.0)
        _, gn, dA, gB, gkA, y = _bwd_tile_part(
            h, gn, _scaled_A(A_ptr, offs_d, offs_n, mask_nd, state),
            tl.zeros([HALF, BLOCK_D], dtype=tl.float32), t0, offs_t, offs_n,
            mask_n, dt, dtu, dy, length, state, BC_ptr, dBC_ptr, bc_base, gB, gkA, y, meta_ptr,
            init_ptr, dfinal_ptr, dh0_ptr, dim, offs_d, mask_d, BLOCK_T, BLOCK_N, VARLEN,
            HAS_INIT, HAS_DFINAL)
        tl.store(dA_row, tl.load(dA_row, mask=mask_nd, other=0.0) + dA, mask=mask_nd)
        if SPLIT == 2:
            h2 = tl.load(tile_ptr + HALF, mask=mask_nd2, other=0.0)
            _, gn2, dA2, gB, gkA, y = _bwd_tile_part(
                h2, gn2, _scaled_A(A_ptr, offs_d, offs_n2, mask_nd2, state),
                tl.zeros([HALF, BLOCK_D], dtype=tl.float32), t0, offs_t,
                offs_n2, mask_n2, dt, dtu, dy, length, state, BC_ptr, dBC_ptr, bc_base, gB, gkA,
                y, meta_ptr, init_ptr, dfinal_ptr, dh0_ptr, dim, offs_d, mask_d, BLOCK_T,
                BLOCK_N, VARLEN, HAS_INIT, HAS_DFINAL)
            tl.store(dA_row + HALF, tl.load(dA_row + HALF, mask=mask_nd2, other=0.0) + dA2,
                     mask=mask_nd2)
        # epilogue: the per-step inputs are read again (cache hits) to keep registers free
        u = _load_act(u_ptr, rows_u, t0, su_t, mask_d, length, BLOCK_T, False)
        dout = _load_act(dout_ptr, rows_g, t0, sg_t, mask_d, length, BLOCK_T, ROWS_G)
        dy, dsilu = _gate(dout, z_ptr, rows_z, t0, sz_t, mask_d, length, HAS_Z, BLOCK_T)
        _store_act(du_ptr, rows_du, t0, sdu_t, dt * gB + Dv[None, :] * dy, mask_d, length,
                   BLOCK_T)
        ddt = u * gB + gkA
        if SOFTPLUS:
            raw = _load_act(delta_ptr, rows_dl, t0, sdl_t, mask_d, length, BLOCK_T,
                            False) + bias[None, :]
            ddt = ddt * _sigmoid(raw)
        inside = mask_d[None, :] & (t0 + offs_t < length)[:, None]
        ddt = tl.where(inside, ddt, 0.0)
        _store_act(ddelta_ptr, rows_dd, t0, sdd_t, ddt, mask_d, length, BLOCK_T)
        if HAS_Z:
            _store_act(dz_ptr, rows_dz, t0, sdz_t, dout * (y + Dv[None, :] * u) * dsilu, mask_d,
                       length, BLOCK_T)
        dD += tl.sum(dy * u, axis=0)
        dbias += tl.sum(ddt, axis=0)
    state_off = _state_offsets(0, dim, state, offs_d, offs_n)
    tl.atomic_add(dA_ptr + state_off, tl.load(dA_row, mask=mask_nd, other=0.0), mask=mask_nd,
                  sem="relaxed")
    if SPLIT == 2:
        tl.atomic_add(dA_ptr + state_off + HALF, tl.load(dA_row + HALF, mask=mask_nd2, other=0.0),
                      mask=mask_nd2, sem="relaxed")
    if HAS_D:
        tl.atomic_add(dD_ptr + offs_d, dD, mask=mask_d, sem="relaxed")
    if HAS_BIAS:
        tl.atomic_add(dbias_ptr + offs_d, dbias, mask=mask_d, sem="relaxed")
    if HAS_DH0:
        if pid_c == 0:
            dh0_off = _state_offsets(pid_b, dim, state, offs_d, offs_n)
            tl.store(dh0_ptr + dh0_off, gn, mask=mask_nd)
            if SPLIT == 2:
                tl.store(dh0_ptr + dh0_off + HALF, gn2, mask=mask_nd2)
    if FAST:
        _keep(junk, junk_ptr, offs_d, length)


# ----------------------------------------------------------------------------- launch plan

@dataclass(frozen=True)
class ScanConfig:
    """Tiling and launch options of one call.

    num_warps: warps per program (32 channels each). block_t: steps per tile (0: one 16-byte
    vector of u's dtype). fwd_chunks, bwd_chunks: chunks along the length (0: as many as
    fill the GPU). fwd_max_regs, bwd_max_regs: the most registers a thread of the forward's
    and the backward's kernels may use (0: the compiler's choice; fwd_max_regs None:
    SCAN_PASS_MAX_REGS on the scan pass of an unpacked forward that saves no states, the
    compiler's choice elsewhere); ``benchmarks/scan.py --regcaps`` times them.
    tiles_per_state: the forward saves the state for the backward at every n-th tile start
    (1: every tile; n: 1/n of the memory, the others recomputed inside the backward, and
    chunks are whole groups of n tiles); ``benchmarks/scan.py --saved-states`` times it.
    bwd_block_t: steps per tile of the backward (0: BWD_MAX_BLOCK_T, or block_t where that
    is shorter). It must divide the steps between saved states (block_t x tiles_per_state);
    the backward then recomputes the states between, as with tiles_per_state. Short
    backward tiles spill less, and the forward keeps its longer ones; ``benchmarks/scan.py
    --tile-steps`` times it.
    layout: "tiles" (the kernels of this module), "block" (``kernels.triton_block_scan``: a
    program a channel, the length in chunks scanned across its threads; unpacked calls
    only, and of these fields only the three below and the register caps apply to it, a
    fwd_max_regs of None there meaning no cap) or "auto": the block layout
    for unpacked calls on a GPU with at least BLOCK_MIN_PROGRAMS_PER_SM channel rows (batch
    x dim) a multiprocessor, the tiles otherwise. block_l: the block layout's steps a chunk
    (0: the least power of two that holds the length, at most 2048); block_fwd_warps,
    block_bwd_warps: the warps of its forward's and backward's programs (0: a warp a 512
    steps of a chunk, at most 4: ``triton_block_scan.block_warps``);
    ``benchmarks/scan.py --layouts`` times them."""
    num_warps: int = 1
    block_t: int = 0
    fwd_chunks: int = 0
    bwd_chunks: int = 0
    fwd_max_regs: int | None = None
    bwd_max_regs: int = 0
    tiles_per_state: int = 1
    bwd_block_t: int = 0
    layout: str = "auto"
    block_l: int = 0
    block_fwd_warps: int = 0
    block_bwd_warps: int = 0


DEFAULT_CONFIG = ScanConfig()   # shared (frozen): building one costs about 2 us a call

# Copies of kernels/triton_block_scan.py from older commits, which benchmarks/scan_versions.py
# loads as baselines, import this name from here.
_interpreted = triton_interpreted


# Resident one-warp programs per multiprocessor of the forward and backward scan kernels,
# updated from the registers of every compiled kernel launched (``_note_occupancy``); the
# defaults are those of the kernels on sm_90 (H100/H200) before the first launch.
_RESIDENT = {"fwd": 12, "bwd": 8}
MIN_TILES_PER_CHUNK = 8
# Registers a thread of the forward's scan pass when it saves no states (inference, and the
# first forward of a recomputed mixer) and no sequences are packed, by steps a tile. With
# 16-bit u and delta (8-step tiles) the pass compiled under 96 ran 9-18% faster than with the
# compiler's 90 on an H100 (B1 D256 2^20, B8 D1536 2K, B1 D1024 64K), at the same residency.
# With a float32 delta (4-step tiles, as the mixer's) capping it at 96 made whole-model
# training 3-4% slower, and the pass that saves states and the backward ran slower capped.
# benchmarks/results/h100-2026-12-06, `benchmarks/scan.py --regcaps`.
SCAN_PASS_MAX_REGS = {8: 96}
# The backward's steps a tile by default, when the forward's tiles are longer (16-bit u and
# Δ: 8 steps). On sm_90 the bf16 backward in 8-step tiles holds 255 registers and spills 232
# bytes a thread, in 4-step tiles (two to a saved state) 16 (benchmarks/kernel_stats.py); the
# tile-steps table (benchmarks/results/h100-2026-12-06, session 7) shows the forward 14-26%
# faster in 8-step tiles and forward+backward 8-11% slower; with the backward in 4-step tiles
# after them (session 8), forward+backward took 5-6% less than in 8-step tiles at its shapes.
BWD_MAX_BLOCK_T = 4


def _resident_warps(n_regs: int) -> int:
    """One-warp programs a Hopper/Ampere multiprocessor holds at ``n_regs`` registers a thread:
    each of its 4 schedulers has 16,384 registers, given to a warp in units of 256, and holds
    at most 16 warps; at most 32 programs a multiprocessor."""
    per_warp = -(-n_regs * 32 // 256) * 256
    return min(32, 4 * min(16, 16384 // per_warp))


def _note_occupancy(name: str, kernel: object) -> None:
    """Record the residency of a launched compiled kernel (none under the interpreter)."""
    n_regs = getattr(kernel, "n_regs", 0)
    if n_regs:
        _RESIDENT[name] = _resident_warps(n_regs)


@dataclass(frozen=True)
class _Plan:
    """Everything the launches of one direction need besides the tensors. length_pad: the
    steps of the padded [B | C] copy, whole spacings of saved states (block_t x
    tiles_per_state), so whole tiles of either direction."""
    batch: int
    dim: int
    length: int
    length_pad: int
    state: int
    dim_per_group: int
    block_d: int
    block_n: int
    block_t: int
    n_tiles: int
    num_warps: int
    fwd_chunks: int
    bwd_chunks: int
    fwd_max_regs: int | None = None
    bwd_max_regs: int = 0
    tiles_per_state: int = 1

    @property
    def n_saved(self) -> int:
        """Tile-start states the forward saves for the backward, per batch row."""
        return triton.cdiv(self.n_tiles, self.tiles_per_state)

    @property
    def split(self) -> int:
        """State halves of the backward (registers)."""
        return 2 if self.block_n >= 16 else 1

    def chunk_len(self, chunks: int) -> int:
        """Steps per chunk when the length is cut into ``chunks`` (an effective count from
        ``_chunk_count``): a multiple of ``_chunk_align`` steps."""
        return _chunk_len(self.length, chunks, self.block_t * self.tiles_per_state)

    def grid(self, chunks: int) -> tuple[int, int, int]:
        return (triton.cdiv(self.dim, self.block_d), chunks, self.batch)

    def sizes(self, chunks: int) -> dict:
        return dict(dim=self.dim, length=self.length, length_pad=self.length_pad,
                    state=self.state, dim_per_group=self.dim_per_group,
                    chunk_len=self.chunk_len(chunks))

    def blocks(self, max_regs: int = 0) -> dict:
        """The tile sizes and launch options of a scan kernel; ``max_regs`` (0: none) caps its
        registers a thread (compiled code only: the interpreter has no registers)."""
        cap = dict(maxnreg=max_regs) if max_regs and not triton_interpreted() else {}
        return dict(BLOCK_D=self.block_d, BLOCK_N=self.block_n, BLOCK_T=self.block_t,
                    FAST=not triton_interpreted(), num_warps=self.num_warps, **cap)


def _auto_chunks(programs: int, n_tiles: int, kernel: str, device: torch.device) -> int:
    """Chunks along the length so that the one-warp programs fill the GPU in a single wave
    of resident programs (``_RESIDENT``), so a partly filled second wave never doubles the
    time; each chunk at least MIN_TILES_PER_CHUNK tiles long."""
    if triton_interpreted() or device.type != "cuda":
        return min(2, n_tiles)
    slots = _RESIDENT[kernel] * multiprocessor_count(device)
    return max(1, min(slots // programs, n_tiles // MIN_TILES_PER_CHUNK))


def _chunk_align(unit: int) -> int:
    """Steps a chunk length is a multiple of: whole units (tiles, or the groups of tiles that
    share a saved state), and on the GPU 16 (see the module notes; the interpreter keeps
    chunks of whole units, so small tests cut where they mean to)."""
    return unit if triton_interpreted() else unit * 16 // math.gcd(unit, 16)


def _chunk_len(length: int, chunks: int, unit: int) -> int:
    align = _chunk_align(unit)
    return triton.cdiv(triton.cdiv(length, chunks), align) * align


def _chunk_count(length: int, chunks: int, unit: int) -> int:
    """The chunks that ``chunks`` requested ones of aligned length make (none empty)."""
    return triton.cdiv(length, _chunk_len(length, chunks, unit))


MAX_REGS_RANGE = (24, 255)     # the register caps ptxas takes for a thread


def check_max_regs(name: str, value: int) -> None:
    """ValueError unless ``value`` is 0 (no cap) or within MAX_REGS_RANGE."""
    low, high = MAX_REGS_RANGE
    if value != 0 and not low <= value <= high:
        raise ValueError(f"{name} must be 0 (no cap) or {low} .. {high}, got {value}")


def _make_plan(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, groups: int,
               config: ScanConfig | None) -> _Plan:
    config = config or DEFAULT_CONFIG
    if config.fwd_max_regs is not None:
        check_max_regs("ScanConfig.fwd_max_regs", config.fwd_max_regs)
    check_max_regs("ScanConfig.bwd_max_regs", config.bwd_max_regs)
    batch, dim, length = u.shape
    state = A.shape[1]
    widest = max(u.element_size(), delta.element_size())
    block_t = config.block_t or 16 // widest
    dim_per_group = dim // groups
    block_d = 32 * config.num_warps
    if dim_per_group % block_d and groups > 1:
        raise ValueError(f"selective_scan_triton: channels per group ({dim_per_group}) must be "
                         f"a multiple of {block_d} (32 x num_warps)")
    n_tiles = triton.cdiv(length, block_t)
    programs = batch * triton.cdiv(dim, block_d) * config.num_warps
    fwd = config.fwd_chunks or _auto_chunks(programs, n_tiles, "fwd", u.device)
    bwd = config.bwd_chunks or _auto_chunks(programs, n_tiles, "bwd", u.device)
    if config.tiles_per_state < 1:
        raise ValueError(f"selective_scan_triton: tiles_per_state must be >= 1, got "
                         f"{config.tiles_per_state}")
    unit = block_t * config.tiles_per_state
    if config.bwd_block_t < 0 or (config.bwd_block_t and unit % config.bwd_block_t):
        raise ValueError(f"selective_scan_triton: bwd_block_t ({config.bwd_block_t}) must "
                         f"divide the steps between saved states (block_t {block_t} x "
                         f"tiles_per_state {config.tiles_per_state} = {unit})")
    return _Plan(batch, dim, length, triton.cdiv(length, unit) * unit, state, dim_per_group,
                 block_d, triton.next_power_of_2(state), block_t, n_tiles, config.num_warps,
                 _chunk_count(length, min(fwd, n_tiles), unit),
                 _chunk_count(length, min(bwd, n_tiles), unit),
                 config.fwd_max_regs, config.bwd_max_regs, config.tiles_per_state)


def _backward_plan(p: _Plan, config: ScanConfig | None, device: torch.device) -> _Plan:
    """The forward's plan ``p`` as the backward launches it: ``p`` itself, or with tiles of
    ``config.bwd_block_t`` steps (by default at most BWD_MAX_BLOCK_T), as many of them to a
    saved state as fill the forward's spacing of saved states, and its own chunk count
    (chunks stay whole spacings)."""
    config = config or DEFAULT_CONFIG
    spacing = p.block_t * p.tiles_per_state      # a multiple of bwd_block_t (_make_plan)
    if config.bwd_block_t:
        steps = config.bwd_block_t
    elif p.block_t > BWD_MAX_BLOCK_T and spacing % BWD_MAX_BLOCK_T == 0:
        steps = BWD_MAX_BLOCK_T
    else:
        steps = p.block_t
    if steps == p.block_t:
        return p
    n_tiles = triton.cdiv(p.length, steps)
    programs = p.batch * triton.cdiv(p.dim, p.block_d) * p.num_warps
    bwd = config.bwd_chunks or _auto_chunks(programs, n_tiles, "bwd", device)
    return replace(p, block_t=steps, n_tiles=n_tiles, tiles_per_state=spacing // steps,
                   bwd_chunks=_chunk_count(p.length, min(bwd, n_tiles), spacing))


def _bc_copy(B: torch.Tensor, C: torch.Tensor, p: _Plan) -> torch.Tensor:
    """B and C as one float32 (batch, groups, padded length, 2, BLOCK_N) tensor: the row of
    step t is [B_t | C_t], zero past the length and the state."""
    B4 = B.unsqueeze(1) if B.dim() == 3 else B
    C4 = C.unsqueeze(1) if C.dim() == 3 else C
    bc = torch.zeros(p.batch, B4.shape[1], p.length_pad, 2, p.block_n, device=B.device,
                     dtype=torch.float32)
    bc[:, :, :p.length, 0, :p.state].copy_(B4.transpose(-1, -2))
    bc[:, :, :p.length, 1, :p.state].copy_(C4.transpose(-1, -2))
    return bc


def _grad_of(dbc: torch.Tensor, which: int, M: torch.Tensor, p: _Plan) -> torch.Tensor:
    """The gradient of B (which 0) or C (1) in its shape and dtype from the [dB | dC] sums."""
    return dbc[:, :, :p.length, which, :p.state].transpose(-1, -2).reshape(M.shape).to(M.dtype)


def _steps_adjacent(t: torch.Tensor) -> bool:
    """Whether a (batch, dim, length) tensor has length stride 1 (or a single step)."""
    return t.stride(2) == 1 or t.shape[2] == 1


def _channel_major(t: torch.Tensor | None) -> torch.Tensor | None:
    """A (batch, dim, length) tensor whose steps are adjacent, as the kernels read their
    inputs: t itself when it is, else a contiguous copy."""
    return t if t is None or _steps_adjacent(t) else t.contiguous()


def _act(t: torch.Tensor) -> tuple:
    """A (batch, dim, length) tensor and its three strides, as the kernels take them."""
    return (t, *t.stride())


@dataclass(frozen=True)
class _Packing:
    """Packed sequences of a batch of one, as the kernels read them: ``meta`` (length,) int32
    holds seq * 4 + 2 * (ends a sequence) + (starts one) for every step (see ``_position``);
    ``starts`` the sequences' first steps (n_seqs,) int64."""
    meta: torch.Tensor
    starts: torch.Tensor
    n_seqs: int

    @classmethod
    def of(cls, cu_seqlens: torch.Tensor, length: int, device: torch.device) -> "_Packing":
        cu = cu_seqlens.to(device=device, dtype=torch.int64)
        starts, ends = cu[:-1], cu[1:] - 1
        flags = torch.zeros(length, dtype=torch.int64, device=device)
        flags[starts] += 1
        flags[ends] += 2
        meta = (sequence_ids(cu, length) * 4 + flags).to(torch.int32)
        return cls(meta, starts, starts.numel())

    def chunk_resets(self, chunk_len: int, chunks: int) -> torch.Tensor:
        """(chunks,) int32: 1 for every chunk of ``chunk_len`` steps in which a sequence
        starts (no state passes through it)."""
        resets = torch.zeros(chunks, dtype=torch.int32, device=self.meta.device)
        resets[self.starts // chunk_len] = 1
        return resets


# ----------------------------------------------------------------------------- launches

def _forward(p: _Plan, u, delta, A, bc, D, z, delta_bias, softplus, initial_state,
             store_tiles: bool, packing: _Packing | None):
    """Returns out (u's shape, dtype and strides where u is dense), final state float32
    ((batch, dim, state), or (n_seqs, dim, state) with ``packing``) and, with ``store_tiles``, the
    saved tile-start states (batch, n_saved, dim, state) float32. With ``packing``, initial_state
    is per sequence."""
    f32 = dict(device=u.device, dtype=torch.float32)
    out = torch.empty_like(u)
    final = torch.empty(packing.n_seqs if packing else p.batch, p.dim, p.state, **f32)
    tiles = torch.empty(p.batch, p.n_saved, p.dim, p.state, **f32) if store_tiles else final
    flags = dict(HAS_BIAS=delta_bias is not None, SOFTPLUS=softplus)
    varlen = dict(meta_ptr=packing.meta if packing else u, init_ptr=initial_state,
                  VARLEN=packing is not None,
                  HAS_INIT=packing is not None and initial_state is not None)
    bias = delta_bias if delta_bias is not None else A
    chunks = p.fwd_chunks
    batch_init = initial_state if packing is None else None
    if chunks > 1:
        local = torch.empty(p.batch, chunks, p.dim, p.state, **f32)
        dsum = torch.empty(p.batch, chunks, p.dim, **f32)
        _chunk_state_kernel[p.grid(chunks - 1)](
            *_act(u), *_act(delta), bias, A, bc, local, dsum, junk_ptr=A, n_chunks=chunks,
            **p.sizes(chunks), **flags, **varlen, **p.blocks(p.fwd_max_regs or 0))
        h0 = torch.empty_like(local)
        _chunk_combine_kernel[p.grid(1)](
            A, local, dsum, batch_init if batch_init is not None else local,
            packing.chunk_resets(p.chunk_len(chunks), chunks) if packing else dsum, h0, p.dim,
            p.state, chunks, HAS_INIT=batch_init is not None, REVERSE=False,
            VARLEN=packing is not None, BLOCK_D=p.block_d, BLOCK_N=p.block_n,
            num_warps=p.num_warps)
        h0_rows = chunks
    else:
        h0, h0_rows = (batch_init if batch_init is not None else final), 1
    zz = z if z is not None else u
    scan_cap = p.fwd_max_regs if p.fwd_max_regs is not None else (
        0 if store_tiles or packing else SCAN_PASS_MAX_REGS.get(p.block_t, 0))
    kernel = _fwd_scan_kernel[p.grid(chunks)](
        *_act(u), *_act(delta), *_act(zz), *_act(out), bias, A, bc,
        D if D is not None else A, h0, h0_rows, tiles, final, **varlen, junk_ptr=A,
        **p.sizes(chunks), n_saved=p.n_saved, HAS_H0=chunks > 1 or batch_init is not None,
        HAS_D=D is not None, HAS_Z=z is not None, STORE_TILES=store_tiles,
        TILES_PER_STATE=p.tiles_per_state, **flags,
        **p.blocks(scan_cap))
    _note_occupancy("fwd", kernel)
    return out, final, (tiles if store_tiles else None)


def _backward(p: _Plan, dout, dfinal, tiles, u, delta, A, bc, D, z, delta_bias, softplus,
              initial_state, want_dh0: bool, packing: _Packing | None):
    """Returns du, ddelta, dz (laid out as u, delta, z), dA, dBC (the padded [dB | dC] sums,
    float32), dD, dbias, dh0 (None for absent inputs). ``dout`` may have any strides (channels-last is read
    a step at a time). With ``packing``, dfinal, initial_state and dh0 are per sequence."""
    f32 = dict(device=u.device, dtype=torch.float32)
    flags = dict(HAS_BIAS=delta_bias is not None, SOFTPLUS=softplus, HAS_Z=z is not None)
    varlen = dict(meta_ptr=packing.meta if packing else u, dfinal_ptr=dfinal,
                  VARLEN=packing is not None, HAS_DFINAL=packing is not None and dfinal is not None)
    batch_dfinal = dfinal if packing is None else None
    bias = delta_bias if delta_bias is not None else A
    zz = z if z is not None else u
    rows_g = not _steps_adjacent(dout)          # e.g. channels-last: read a step at a time
    chunks = p.bwd_chunks
    if chunks > 1:
        local = torch.empty(p.batch, chunks, p.dim, p.state, **f32)
        dsum = torch.empty(p.batch, chunks, p.dim, **f32)
        _chunk_adjoint_kernel[p.grid(chunks - 1)](
            *_act(delta), *_act(zz), *_act(dout), bias, A, bc, local, dsum, junk_ptr=A,
            n_chunks=chunks, **p.sizes(chunks), **flags, **varlen, ROWS_G=rows_g,
            **p.blocks(p.bwd_max_regs))
        carry = torch.empty_like(local)
        _chunk_combine_kernel[p.grid(1)](
            A, local, dsum, batch_dfinal if batch_dfinal is not None else local,
            packing.chunk_resets(p.chunk_len(chunks), chunks) if packing else dsum, carry,
            p.dim, p.state, chunks, HAS_INIT=batch_dfinal is not None, REVERSE=True,
            VARLEN=packing is not None, BLOCK_D=p.block_d, BLOCK_N=p.block_n,
            num_warps=p.num_warps)
        carry_rows = chunks
    else:
        carry, carry_rows = (batch_dfinal if batch_dfinal is not None else tiles), 1
    du, ddelta = torch.empty_like(u), torch.empty_like(delta)
    dz = torch.empty_like(z) if z is not None else None
    dA = torch.zeros(p.dim, p.state, **f32)
    dbc = torch.zeros_like(bc)
    dD = torch.zeros(p.dim, **f32) if D is not None else None
    dbias = torch.zeros(p.dim, **f32) if delta_bias is not None else None
    dh0 = torch.empty_like(initial_state) if want_dh0 else None
    scratch = (torch.empty(p.batch, chunks, p.tiles_per_state, p.dim, p.state, **f32)
               if p.tiles_per_state > 1 else dA)
    dA_part = torch.empty(p.batch, chunks, p.dim, p.state, **f32)
    kernel = _bwd_scan_kernel[p.grid(chunks)](
        *_act(u), *_act(delta), *_act(zz), *_act(dout), *_act(du), *_act(ddelta),
        *_act(dz if dz is not None else du), bias, A, bc, D if D is not None else A, tiles,
        carry, carry_rows, dA, dbc, dD if dD is not None else dA,
        dbias if dbias is not None else dA, dh0 if dh0 is not None else dA,
        init_ptr=initial_state, **varlen,
        junk_ptr=A, scratch_ptr=scratch, dA_part_ptr=dA_part,
        **p.sizes(chunks), n_saved=p.n_saved, HAS_CARRY=chunks > 1 or batch_dfinal is not None,
        HAS_D=D is not None, HAS_DH0=want_dh0 and packing is None,
        HAS_INIT=want_dh0 and packing is not None, SPLIT=p.split,
        TILES_PER_STATE=p.tiles_per_state, ROWS_G=rows_g, **flags,
        **p.blocks(p.bwd_max_regs))
    _note_occupancy("bwd", kernel)
    return du, ddelta, dz, dA, dbc, dD, dbias, dh0


class _SelectiveScanFn(torch.autograd.Function):
    """Autograd wrapper; forward returns (out, final_state)."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, z, delta_bias, initial_state, cu_seqlens,
                softplus: bool, needs_grad: bool, config: ScanConfig | None):
        u, delta, z = _channel_major(u), _channel_major(delta), _channel_major(z)
        A32 = A.contiguous().float()
        h0 = initial_state.contiguous().float() if initial_state is not None else None
        groups = B.shape[1] if B.dim() == 4 else 1
        plan = _make_plan(u, delta, A, groups, config)
        bc = _bc_copy(B, C, plan)
        packing = (_Packing.of(cu_seqlens, u.shape[-1], u.device) if cu_seqlens is not None
                   else None)
        out, final, tiles = _forward(plan, u, delta, A32, bc, D, z, delta_bias, softplus, h0,
                                     store_tiles=needs_grad, packing=packing)
        if needs_grad:
            ctx.save_for_backward(u, delta, A32, bc, D, z, delta_bias, tiles, A, B, C, h0)
            ctx.plan = _backward_plan(plan, config, u.device)
            ctx.softplus, ctx.packing = softplus, packing
            ctx.h0_dtype = initial_state.dtype if initial_state is not None else None
        ctx.set_materialize_grads(False)
        return out, final

    @staticmethod
    def backward(ctx, dout, dfinal):
        u, delta, A32, bc, D, z, delta_bias, tiles, A, B, C, h0 = ctx.saved_tensors
        dout = dout if dout is not None else torch.zeros_like(u)
        dfinal = dfinal.contiguous().float() if dfinal is not None else None
        p = ctx.plan
        du, ddelta, dz, dA, dbc, dD, dbias, dh0 = _backward(
            p, dout, dfinal, tiles, u, delta, A32, bc, D, z, delta_bias, ctx.softplus, h0,
            want_dh0=h0 is not None and ctx.needs_input_grad[8], packing=ctx.packing)
        return (du, ddelta, dA.to(A.dtype), _grad_of(dbc, 0, B, p), _grad_of(dbc, 1, C, p),
                dD.to(D.dtype) if dD is not None else None, dz,
                dbias.to(delta_bias.dtype) if dbias is not None else None,
                dh0.to(ctx.h0_dtype) if dh0 is not None else None, None, None, None, None)


# Channel rows (batch x dim) a multiprocessor from which "auto" takes the block layout: it
# runs a program per row over the whole length, so it needs rows to fill the GPU, where the
# tile layout cuts the length into chunks. On an H100 (132 SMs; `benchmarks/scan.py
# --layouts`, benchmarks/results/h100-2026-12-06, session 8), forward+backward, bf16: the
# block layout took 1.05-1.08x the tiles' time at 512 rows (2^16, 2^20 steps), 1.01x at 768
# and 1.01-1.02x at 1024 (7.8 a multiprocessor) with a third less memory, 0.76-0.86x at 8 x
# 1536 (2K, 8K steps).
BLOCK_MIN_PROGRAMS_PER_SM = 6
LAYOUTS = ("auto", "tiles", "block")


def _block_layout(u: torch.Tensor, cu_seqlens: torch.Tensor | None,
                  config: ScanConfig | None) -> bool:
    """Whether a call runs in the block layout (``ScanConfig.layout``)."""
    layout = config.layout if config is not None else "auto"
    if layout not in LAYOUTS:
        raise ValueError(f"ScanConfig.layout must be one of {LAYOUTS}, got {layout!r}")
    if layout == "block" and cu_seqlens is not None:
        raise ValueError("ScanConfig.layout 'block' does not take packed sequences "
                         "(cu_seqlens): use 'tiles' or 'auto'")
    if layout != "auto":
        return layout == "block"
    return cu_seqlens is None and _auto_block(u.shape[0] * u.shape[1], u.device)


def _auto_block(rows: int, device: torch.device) -> bool:
    """"auto"'s choice for an unpacked call of ``rows`` channel rows (batch x dim) on
    ``device``: the block layout on a GPU with at least BLOCK_MIN_PROGRAMS_PER_SM rows a
    multiprocessor (the tiles under the interpreter)."""
    if device.type != "cuda" or triton_interpreted():
        return False
    return rows >= BLOCK_MIN_PROGRAMS_PER_SM * multiprocessor_count(device)


def triton_supports(u: torch.Tensor, B: torch.Tensor, num_warps: int = 1) -> bool:
    """Whether the kernels take this call: float32/bfloat16/float16 u with a non-empty length,
    and B/C groups whose channel count is a multiple of a program's 32 x num_warps channels."""
    groups = B.shape[1] if B.dim() == 4 else 1
    return (u.dtype in SUPPORTED_DTYPES and u.shape[-1] > 0
            and (groups == 1 or (u.shape[1] // groups) % (32 * num_warps) == 0))


def selective_scan_triton(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor,
                          B: torch.Tensor, C: torch.Tensor, D: torch.Tensor | None = None,
                          z: torch.Tensor | None = None, delta_bias: torch.Tensor | None = None,
                          delta_softplus: bool = False, initial_state: torch.Tensor | None = None,
                          return_final_state: bool = False, cu_seqlens: torch.Tensor | None = None,
                          config: ScanConfig | None = None):
    """Fused selective scan; contract, shapes and dtypes of ``selective_scan_ref`` (packed
    sequences through ``cu_seqlens`` included).

    u's dtype must be float32, bfloat16 or float16 and the length at least 1. u, delta and z
    are read in place when their steps are adjacent (length stride 1, any other strides), else
    copied so; the output's gradient is read in place either way. ``config`` overrides the
    tiling. Returns y (u's dtype, and u's strides when u is dense, as the channel rows of a
    channel-major projection are: ``core.projections``), or (y, final_state float32 (batch,
    dim, state), or (n_seqs, dim, state) with ``cu_seqlens``).
    """
    if u.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"selective_scan_triton: u must be one of {SUPPORTED_DTYPES}, got {u.dtype}")
    if u.shape[-1] == 0:
        raise ValueError("selective_scan_triton: empty length")
    needs_grad = grad_wanted(u, delta, A, B, C, D, z, delta_bias, initial_state)
    if _block_layout(u, cu_seqlens, config):
        from .triton_block_scan import selective_scan_block
        out, final = selective_scan_block(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                          initial_state, needs_grad, config or DEFAULT_CONFIG)
    else:
        out, final = _SelectiveScanFn.apply(u, delta, A, B, C, D, z, delta_bias,
                                            initial_state, cu_seqlens, delta_softplus,
                                            needs_grad, config)
    return (out, final) if return_final_state else out
