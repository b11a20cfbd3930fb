"""Packed variable-length batches at the model level: one row holding several sequences back
to back, their boundaries given as ``cu_seqlens`` (see ``kernels.varlen``). The mixers reset
their state at every boundary; these helpers do the rest: check the boundaries once per batch and
reverse time inside every sequence (``core.pooling`` pools each sequence)."""
from __future__ import annotations

import torch

from mambaseq.kernels.varlen import check_cu_seqlens, sequence_ids


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
