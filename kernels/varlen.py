"""Packed variable-length batches: several sequences concatenated along the length of a
batch of one, their boundaries given as ``cu_seqlens`` (cumulative lengths, as in
flash-attention and flash-linear-attention).

``cu_seqlens`` is a 1-D integer tensor [0, l_0, l_0 + l_1, ..., total]: sequence i occupies
positions cu_seqlens[i] .. cu_seqlens[i + 1] - 1 of the packed length. Every op that takes it
resets its state (the scan's h, the convolution's window) at each sequence start, so a packed
batch computes exactly what running each sequence alone would, and returns final states per
sequence.
"""
from __future__ import annotations

import torch


def check_cu_seqlens(cu_seqlens: torch.Tensor, batch: int, length: int) -> int:
    """Raise ``ValueError`` unless ``cu_seqlens`` describes non-empty sequences packed into a
    batch of one of ``length`` positions; returns the number of sequences.

    The values are read (and checked) only when ``cu_seqlens`` lives on the CPU: reading a GPU
    tensor would stall the GPU at every layer. Models check theirs once per batch."""
    if batch != 1:
        raise ValueError(f"packed sequences (cu_seqlens) need a batch of 1, got batch {batch}")
    if cu_seqlens.dim() != 1 or cu_seqlens.numel() < 2 or cu_seqlens.is_floating_point():
        raise ValueError(f"cu_seqlens must be a 1-D integer tensor [0, ..., length] of at least "
                         f"2 entries, got shape {tuple(cu_seqlens.shape)} {cu_seqlens.dtype}")
    if cu_seqlens.device.type != "cpu":
        return cu_seqlens.numel() - 1
    bounds = cu_seqlens.tolist()
    if bounds[0] != 0 or bounds[-1] != length:
        raise ValueError(f"cu_seqlens must start at 0 and end at the packed length {length}, "
                         f"got {bounds[0]} .. {bounds[-1]}")
    if any(b <= a for a, b in zip(bounds, bounds[1:])):
        raise ValueError("cu_seqlens must be strictly increasing (every sequence non-empty)")
    return len(bounds) - 1


def sequence_ids(cu_seqlens: torch.Tensor, length: int) -> torch.Tensor:
    """(length,) int64 tensor: the index of the sequence each packed position belongs to."""
    counts = (cu_seqlens[1:] - cu_seqlens[:-1]).long()
    ids = torch.arange(counts.numel(), device=cu_seqlens.device)
    return torch.repeat_interleave(ids, counts, output_size=length)


def cu_seqlens_from_lengths(lengths: list[int] | torch.Tensor,
                            device: torch.device | str | None = None) -> torch.Tensor:
    """int32 cu_seqlens [0, l_0, l_0 + l_1, ...] for sequences of the given lengths."""
    lengths = torch.as_tensor(lengths, dtype=torch.int32, device=device)
    return torch.cat([lengths.new_zeros(1), torch.cumsum(lengths, 0, dtype=torch.int32)])


def last_inputs(x: torch.Tensor, cu_seqlens: torch.Tensor, keep: int) -> torch.Tensor:
    """The last ``keep`` inputs of every packed sequence, zero-padded on the left when a
    sequence is shorter: x (1, dim, length) -> (n_seqs, dim, keep) in x's dtype (the
    convolution state a sequence ends with, oldest first)."""
    ends = cu_seqlens[1:].long().to(x.device)
    starts = cu_seqlens[:-1].long().to(x.device)
    pos = ends[:, None] - keep + torch.arange(keep, device=x.device)[None, :]   # (n, keep)
    valid = pos >= starts[:, None]
    picked = x[0][:, pos.clamp(min=0)]                                        # (dim, n, keep)
    return (picked * valid.to(x.dtype)).transpose(0, 1)
