"""Packed variable-length batches at the model level: one row holding several sequences back
to back, their boundaries given as ``cu_seqlens`` (see ``kernels.varlen``). The mixers reset
their state at every boundary; these helpers do the rest: check the boundaries once per batch,
reverse time inside every sequence, and pool each sequence's hidden states."""
from __future__ import annotations

import torch

from mambaseq.kernels.varlen import check_cu_seqlens, sequence_ids

PACKED_POOLINGS = ("mean", "last", "max")


def check_packed(input_ids: torch.Tensor, cu_seqlens: torch.Tensor) -> int:
    """Check ``cu_seqlens`` against input_ids (1, length) once (a single copy to the CPU);
    returns the number of sequences. Raises ``ValueError`` saying what is wrong."""
    return check_cu_seqlens(cu_seqlens.cpu(), input_ids.shape[0], input_ids.shape[1])


def reverse_within(x: torch.Tensor, cu_seqlens: torch.Tensor) -> torch.Tensor:
    """x (1, length, ...) with time reversed inside every packed sequence (position t of the
    sequence [s, e) goes to s + e - 1 - t). An involution."""
    length = x.shape[1]
    cu = cu_seqlens.to(device=x.device, dtype=torch.int64)
    ids = sequence_ids(cu, length)
    index = cu[:-1][ids] + cu[1:][ids] - 1 - torch.arange(length, device=x.device)
    return x[:, index]


def pool_sequences(hidden: torch.Tensor, cu_seqlens: torch.Tensor, how: str) -> torch.Tensor:
    """One vector per packed sequence: hidden (1, length, d) -> (n_seqs, d), by "mean" over
    its positions, its "last" position, or "max" over its positions."""
    if how not in PACKED_POOLINGS:
        raise ValueError(f"pooling must be one of {PACKED_POOLINGS}, got {how!r}")
    h = hidden[0]
    cu = cu_seqlens.to(device=h.device, dtype=torch.int64)
    n = cu.numel() - 1
    if how == "last":
        return h[cu[1:] - 1]
    ids = sequence_ids(cu, h.shape[0])[:, None].expand_as(h)
    if how == "mean":
        sums = h.new_zeros(n, h.shape[1]).scatter_add(0, ids, h)
        return sums / (cu[1:] - cu[:-1]).to(h.dtype)[:, None]
    return h.new_full((n, h.shape[1]), float("-inf")).scatter_reduce(0, ids, h, "amax")
