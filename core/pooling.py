"""Pooling a sequence model's hidden states into one vector per sequence, for classifiers:
from right-padded rows (valid lengths given) or from packed rows (``cu_seqlens``)."""
from __future__ import annotations

import torch

from mambaseq.kernels.varlen import sequence_ids

POOLINGS = ("mean", "last", "max")     # "last": the position that has seen the whole sequence
BIDIRECTIONAL_POOLINGS = ("mean", "max")   # causally; a bidirectional model has no such place


def pool(hidden: torch.Tensor, how: str, lengths: torch.Tensor | None = None,
         cu_seqlens: torch.Tensor | None = None) -> torch.Tensor:
    """One vector per sequence by "mean" over its positions, its "last" position, or "max"
    over its positions.

    Padded: hidden (batch, length, d), ``lengths`` (batch,) valid positions per row (all when
    None) -> (batch, d). Packed: hidden (1, length, d) holding sequences back to back, their
    boundaries ``cu_seqlens`` (n + 1,) -> (n, d). Same dtype as hidden."""
    if how not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {how!r}")
    if cu_seqlens is not None:
        return _pool_packed(hidden[0], cu_seqlens.to(device=hidden.device, dtype=torch.int64),
                            how)
    batch, length, _ = hidden.shape
    if lengths is None:
        lengths = torch.full((batch,), length, device=hidden.device)
    if how == "last":
        return hidden[torch.arange(batch, device=hidden.device), lengths - 1]
    valid = torch.arange(length, device=hidden.device)[None, :] < lengths[:, None]
    if how == "mean":
        return (hidden * valid[..., None]).sum(1) / lengths[:, None].to(hidden.dtype)
    return hidden.masked_fill(~valid[..., None], float("-inf")).amax(1)


def _pool_packed(h: torch.Tensor, cu: torch.Tensor, how: str) -> torch.Tensor:
    """h (length, d) of packed sequences with boundaries cu (n + 1,) int64 -> (n, d)."""
    n = cu.numel() - 1
    if how == "last":
        return h[cu[1:] - 1]
    ids = sequence_ids(cu, h.shape[0])[:, None].expand_as(h)
    if how == "mean":
        sums = h.new_zeros(n, h.shape[1]).scatter_add(0, ids, h)
        return sums / (cu[1:] - cu[:-1]).to(h.dtype)[:, None]
    return h.new_full((n, h.shape[1]), float("-inf")).scatter_reduce(0, ids, h, "amax")
