"""Selective scan in plain PyTorch: the exact reference that runs on the CPU and that every
Triton kernel is tested against.

The recurrence, for every batch b, channel d and state index n (time t = 0 .. L-1)::

    delta_t = softplus(delta_t + delta_bias)          (when delta_softplus)
    h_t     = exp(delta_t * A[d, n]) * h_{t-1} + delta_t * B_t[n] * u_t
    y_t     = sum_n C_t[n] * h_t[n] + D[d] * u_t
    y_t     = y_t * silu(z_t)                          (when z is given)

``selective_scan_ref`` works time-major: (length, batch, groups, dim / groups) for the
per-channel inputs, (length, batch, groups, state) for B and C, so one time step is one
contiguous slab and the Mamba block's (batch, length, channels) activations convert with
row copies, not transposes. The recurrence itself is one ``torch.autograd.Function`` over
the whole sequence (``_ChunkedScan``): chunk after chunk of a few dozen steps, it forms the
chunk's decays exp(delta * A) and drives delta * B * u in one buffer of
(steps, batch, dim, state) that fits a CPU core's cache, runs the recurrence step by step in
place (one fused multiply-add a step: exact and stable, no division by decayed quantities)
and keeps only the state entering every chunk. Its backward walks the chunks last to first,
recomputes each chunk's states, runs the adjoint recurrence written out by hand and writes
the chunk's gradients into full-length tensors. Memory never holds (batch, dim, length,
state), forward or backward, and time per token does not grow with the length. Packed
sequences (``cu_seqlens``) are scanned as a batch of one zero-padded row each, then packed
again. (On two CPU cores the step-by-step chunk beat a quadratic-within-chunk formulation by
2-10x at chunk 64.)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .varlen import check_cu_seqlens, sequence_ids

# Steps per chunk: as many as keep one chunk buffer (steps x batch x dim x state) at about
# this many elements (1 MiB of float32), small enough to stay in a CPU core's cache.
CHUNK_ELEMENTS = 2 ** 18


def check_scan_shapes(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                      C: torch.Tensor, D: torch.Tensor | None, z: torch.Tensor | None,
                      delta_bias: torch.Tensor | None, initial_state: torch.Tensor | None,
                      cu_seqlens: torch.Tensor | None = None) -> None:
    """Raise ``ValueError`` naming the argument whose shape breaks the scan's contract."""
    if u.dim() != 3:
        raise ValueError(f"u must be (batch, dim, length), got shape {tuple(u.shape)}")
    batch, dim, length = u.shape
    if delta.shape != u.shape:
        raise ValueError(f"delta must have u's shape {tuple(u.shape)}, got {tuple(delta.shape)}")
    if z is not None and z.shape != u.shape:
        raise ValueError(f"z must have u's shape {tuple(u.shape)}, got {tuple(z.shape)}")
    if A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(f"A must be (dim={dim}, state), got {tuple(A.shape)}")
    state = A.shape[1]
    for name, t in (("B", B), ("C", C)):
        if t.dim() == 3:
            ok = t.shape == (batch, state, length)
        elif t.dim() == 4:
            ok = (t.shape[0], t.shape[2], t.shape[3]) == (batch, state, length) and dim % t.shape[1] == 0
        else:
            ok = False
        if not ok:
            raise ValueError(f"{name} must be (batch={batch}, state={state}, length={length}) or "
                             f"(batch, groups dividing dim={dim}, state, length), got {tuple(t.shape)}")
    for name, t in (("D", D), ("delta_bias", delta_bias)):
        if t is not None and t.shape != (dim,):
            raise ValueError(f"{name} must be (dim={dim},), got {tuple(t.shape)}")
    rows, what = batch, "batch"
    if cu_seqlens is not None:
        rows, what = check_cu_seqlens(cu_seqlens, batch, length), "sequences"
    if initial_state is not None and initial_state.shape != (rows, dim, state):
        raise ValueError(f"initial_state must be ({what}={rows}, dim={dim}, state={state}), "
                         f"got {tuple(initial_state.shape)}")


def expand_groups(M: torch.Tensor, dim: int) -> torch.Tensor:
    """B or C as (batch, dim, state, length): every channel sees its group's matrix (a view)."""
    if M.dim() == 3:
        return M.unsqueeze(1).expand(-1, dim, -1, -1)
    batch, groups, state, length = M.shape
    return M.unsqueeze(2).expand(-1, -1, dim // groups, -1, -1).reshape(batch, dim, state, length)


def _time_major(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(batch, channels, length) -> contiguous (length, batch, groups, channels // groups);
    a row copy, or nothing, when x is a transposed view of (batch, length, channels)."""
    batch, channels, length = x.shape
    return x.permute(2, 0, 1).contiguous().view(length, batch, groups, channels // groups)


def _from_time_major(x: torch.Tensor) -> torch.Tensor:
    """(length, batch, groups, channels // groups) -> (batch, channels, length), a view."""
    length, batch = x.shape[:2]
    return x.reshape(length, batch, -1).permute(1, 2, 0)


class _Chunk:
    """Work buffers for one chunk of at most ``size`` steps, reused from chunk to chunk.

    decay (size, b, g, dg, n): exp(delta * A); states (size + 1, b, g, dg, n): the state
    entering the chunk, then h_t after each step; adjoint (size, b, g, dg, n): dL/dh_t
    (backward only). The ``*_steps`` tuples are the same buffers unbound along time, so a
    step does no indexing.
    """

    def __init__(self, size: int, like: torch.Tensor, backward: bool) -> None:
        self.decay = like.new_empty(size, *like.shape)
        self.states = like.new_empty(size + 1, *like.shape)
        self.decay_steps, self.state_steps = self.decay.unbind(0), self.states.unbind(0)
        if backward:
            self.adjoint = like.new_empty(size, *like.shape)
            self.adjoint_steps = self.adjoint.unbind(0)

    def scan(self, delta: torch.Tensor, du: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
             h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states of T steps from h0: delta, du (T, b, g, dg); A (g, dg, n); B (T, b, g,
        n); h0 (b, g, dg, n). Returns decay (T, b, g, dg, n) and states (T + 1, b, g, dg, n)
        with states[0] = h0 and states[t + 1] = h_t, views of the buffers."""
        steps = delta.shape[0]
        decay, states = self.decay[:steps], self.states[:steps + 1]
        torch.mul(delta.unsqueeze(-1), A, out=decay).exp_()
        states[0].copy_(h0)
        torch.mul(du.unsqueeze(-1), B.unsqueeze(-2), out=states[1:])
        decays, hs = self.decay_steps, self.state_steps
        for t in range(steps):                  # h_t = decay_t * h_{t-1} + drive_t, in place
            hs[t + 1].addcmul_(decays[t], hs[t])
        return decay, states


class _ChunkedScan(torch.autograd.Function):
    """h_t = exp(delta_t A) h_{t-1} + du_t B_t, y_t = C_t . h_t over a whole time-major
    sequence, chunk after chunk: delta, du (L, b, g, dg); A (g, dg, n); B, C (L, b, g, n);
    h0 (b, g, dg, n). Returns y (L, b, g, dg) and h_{L-1} (b, g, dg, n).

    Forward keeps only the state entering each chunk. Backward, chunks last to first:
    recompute the chunk's states from its entry state, run the adjoint recurrence
    G_t = C_t dy_t + decay_{t+1} G_{t+1} in place, and write the chunk's slice of every
    gradient. dL/d(delta_t A) = G_t * decay_t * h_{t-1} gives delta's and A's gradients.
    """

    @staticmethod
    def forward(ctx, delta: torch.Tensor, du: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                C: torch.Tensor, h0: torch.Tensor, chunk: int):
        length = delta.shape[0]
        starts = range(0, length, chunk)
        entry = h0.new_empty(len(starts), *h0.shape)       # the state entering every chunk
        y = delta.new_empty(delta.shape)
        work, h = _Chunk(min(chunk, length), h0, backward=False), h0
        for i, start in enumerate(starts):
            sl = slice(start, start + chunk)
            entry[i] = h
            _, states = work.scan(delta[sl], du[sl], A, B[sl], h)
            torch.matmul(states[1:], C[sl].unsqueeze(-1), out=y[sl].unsqueeze(-1))
            h = states[-1].clone()
        ctx.chunk = chunk
        ctx.save_for_backward(delta, du, A, B, C, entry)
        return y, h

    @staticmethod
    def backward(ctx, dy: torch.Tensor, dh_last: torch.Tensor):
        delta, du, A, B, C, entry = ctx.saved_tensors
        chunk, dy = ctx.chunk, dy.contiguous()
        d_delta, d_du = torch.empty_like(delta), torch.empty_like(du)
        dB, dC, dA = torch.empty_like(B), torch.empty_like(C), torch.zeros_like(A)
        carry = dh_last          # dL/dh at the chunk's last step from what comes after it
        work = _Chunk(min(chunk, delta.shape[0]), carry, backward=True)
        for i in range(entry.shape[0] - 1, -1, -1):
            sl = slice(i * chunk, (i + 1) * chunk)
            dl, du_c, B_c, dy_c = delta[sl], du[sl], B[sl], dy[sl]
            steps = dl.shape[0]
            decay, states = work.scan(dl, du_c, A, B_c, entry[i])
            torch.matmul(dy_c.unsqueeze(-2), states[1:], out=dC[sl].unsqueeze(-2))
            G = torch.mul(dy_c.unsqueeze(-1), C[sl].unsqueeze(-2), out=work.adjoint[:steps])
            gs, decays = work.adjoint_steps, work.decay_steps
            gs[steps - 1].add_(carry)
            for t in range(steps - 2, -1, -1):
                gs[t].addcmul_(decays[t + 1], gs[t + 1])
            torch.matmul(G, B_c.unsqueeze(-1), out=d_du[sl].unsqueeze(-1))
            torch.matmul(du_c.unsqueeze(-2), G, out=dB[sl].unsqueeze(-2))
            carry = decays[0] * gs[0]
            G.mul_(states[:-1]).mul_(decay)                   # dL/d(delta_t A)
            torch.sum(G * A, -1, out=d_delta[sl])
            dA += G.mul_(dl.unsqueeze(-1)).sum((0, 1))
        return d_delta, d_du, dA, dB, dC, carry, None


def selective_scan_ref(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                       C: torch.Tensor, D: torch.Tensor | None = None, z: torch.Tensor | None = None,
                       delta_bias: torch.Tensor | None = None, delta_softplus: bool = False,
                       initial_state: torch.Tensor | None = None, return_final_state: bool = False,
                       cu_seqlens: torch.Tensor | None = None, chunk_size: int | None = None):
    """Exact selective scan (see the module docstring for the recurrence).

    Shapes: u, delta, z (batch, dim, length); A (dim, state); B, C (batch, state, length) or
    (batch, groups, state, length) with groups dividing dim; D, delta_bias (dim,);
    initial_state (batch, dim, state). Arithmetic runs in float32 (float64 when u is float64);
    the output has u's dtype; the final state is float32 (float64 for float64 inputs).
    Differentiable in every tensor argument, initial_state included. ``chunk_size``: time
    steps per chunk (default: about ``CHUNK_ELEMENTS`` state values per chunk); it changes
    the speed, not the result.

    Packed sequences: with ``cu_seqlens`` (see ``kernels.varlen``; batch must be 1) the state
    restarts at every sequence start, from ``initial_state[i]`` (initial_state is then
    (n_seqs, dim, state)) or zero, and the final state is (n_seqs, dim, state): one per
    sequence.

    Returns y, or (y, final_state) when ``return_final_state``. y is a (batch, dim, length)
    view of time-major memory: its transpose (batch, length, dim) is contiguous for batch 1.
    """
    check_scan_shapes(u, delta, A, B, C, D, z, delta_bias, initial_state, cu_seqlens)
    batch, dim, length = u.shape
    compute = torch.float64 if u.dtype == torch.float64 else torch.float32
    if B.dim() == 3:
        B, C = B.unsqueeze(1), C.unsqueeze(1)
    groups, state = B.shape[1], A.shape[1]
    u_t = _time_major(u.to(compute), groups)                      # (L, b, g, dg)
    delta_t = _time_major(delta.to(compute), groups)
    if delta_bias is not None:
        delta_t = delta_t + delta_bias.to(compute).view(groups, -1)
    if delta_softplus:
        delta_t = F.softplus(delta_t)
    B_t = B.to(compute).permute(3, 0, 1, 2).contiguous()          # (L, b, g, n)
    C_t = C.to(compute).permute(3, 0, 1, 2).contiguous()
    us_t = u_t
    if cu_seqlens is not None:     # one row per sequence; delta 0 past its end keeps its state
        pack, (us_t, delta_t, B_t, C_t) = _unpacked(cu_seqlens, length, (u_t, delta_t, B_t, C_t))
        batch = us_t.shape[1]
    h = (initial_state.to(compute) if initial_state is not None
         else u.new_zeros(batch, dim, state, dtype=compute)).view(batch, groups, -1, state)
    if length == 0:
        y_t = u_t.new_zeros(u_t.shape)
    else:
        chunk = chunk_size or max(1, CHUNK_ELEMENTS // (batch * dim * state))
        y_t, h = _ChunkedScan.apply(delta_t, delta_t * us_t, A.to(compute).view(groups, -1, state),
                                    B_t, C_t, h, chunk)
        if cu_seqlens is not None:
            y_t = pack(y_t)
    if D is not None:
        y_t = y_t + D.to(compute).view(groups, -1) * u_t
    if z is not None:
        y_t = y_t * F.silu(_time_major(z.to(compute), groups))
    y = _from_time_major(y_t.to(u.dtype))
    return (y, h.reshape(batch, dim, state)) if return_final_state else y


def _unpacked(cu_seqlens: torch.Tensor, length: int, packed: tuple[torch.Tensor, ...]):
    """Packed time-major tensors (length, 1, ...) -> one zero-padded row per sequence
    (longest, n_seqs, ...), and the function taking a (longest, n_seqs, ...) result back to
    (length, 1, ...). Padding with zeros makes delta 0 there: decay 1, drive 0, the state
    kept."""
    cu = cu_seqlens.to(device=packed[0].device, dtype=torch.int64)
    seq = sequence_ids(cu, length)
    pos = torch.arange(length, device=cu.device) - cu[seq]
    n, longest = cu.numel() - 1, int((cu[1:] - cu[:-1]).max())

    def unpack_one(x: torch.Tensor) -> torch.Tensor:
        rows = x[:, 0]                                                  # (length, ...)
        return rows.new_zeros(longest, n, *rows.shape[1:]).index_put((pos, seq), rows)

    def pack(y: torch.Tensor) -> torch.Tensor:
        return y[pos, seq].unsqueeze(1)

    return pack, tuple(unpack_one(x) for x in packed)
