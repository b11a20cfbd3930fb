"""What a recomputed function's first forward leaves for its recomputation in the backward
pass: the block-layout scans' results, so that the recomputation builds each scan's autograd
node without running the scan's forward kernel again.

``core.recompute`` runs a Mamba mixer's core (conv, Δ, B, C, scan) once without autograd and
again in the backward pass. The first run records, for every block-layout scan it makes (in
call order), its output y, its final state and its chunk-start states (1/2048 of the states:
under a megabyte a layer at the 130M LM's shapes); y is the very tensor the core returns,
which the next layer keeps anyway. The second run makes the same calls on the same inputs and
is handed them back in the same order. A scan in the tile layout records nothing and runs
again. Outside a ``stashing`` block nothing changes.

The recording's tensors must reach the backward pass through ``ctx.save_for_backward``
(``tensors`` and ``replaying_from``), never as an attribute of ``ctx``: y is an output of the
recomputed function, and an output held by its own node's ctx is a reference cycle that
keeps the whole graph's memory until Python's garbage collector runs.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import torch


@dataclass
class ScanStash:
    """Block scans' (y, final state (batch, dim, state) float32, chunk-start states (batch,
    chunks, dim, state) float32) in call order. While ``replaying``, ``take`` hands them back
    one by one."""

    entries: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = field(default_factory=list)
    replaying: bool = False
    taken: int = 0

    def put(self, out: torch.Tensor, final: torch.Tensor, hstart: torch.Tensor) -> None:
        self.entries.append((out, final, hstart))

    def tensors(self) -> list[torch.Tensor]:
        """The recorded tensors, three a scan in call order, for ``ctx.save_for_backward``."""
        return [t for entry in self.entries for t in entry]

    @classmethod
    def replaying_from(cls, tensors: Sequence[torch.Tensor]) -> ScanStash:
        """A stash that hands back the scans whose ``tensors()`` these are, from the first."""
        flat = list(tensors)
        entries = [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]
        return cls(entries=entries, replaying=True)

    def take(self, out_shape: torch.Size, hstart_shape: tuple[int, ...]
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The next recorded scan, checked against the call that asks for it: a replay that
        runs out of step with its recording (a function that is not deterministic in the
        scans it makes) raises instead of returning another call's states."""
        if self.taken >= len(self.entries):
            raise RuntimeError(f"scan stash: the recomputation made more block scans than the "
                               f"recorded forward ({len(self.entries)})")
        out, final, hstart = self.entries[self.taken]
        if out.shape != out_shape or tuple(hstart.shape) != tuple(hstart_shape):
            raise RuntimeError(f"scan stash: block scan {self.taken} of the recomputation "
                               f"has y {tuple(out_shape)} and chunk states {tuple(hstart_shape)},"
                               f" the recorded one {tuple(out.shape)} and "
                               f"{tuple(hstart.shape)}")
        self.taken += 1
        return out, final, hstart


_ACTIVE: ContextVar[ScanStash | None] = ContextVar("mambaseq_scan_stash", default=None)


@contextmanager
def stashing(stash: ScanStash) -> Iterator[ScanStash]:
    """Block scans inside record into ``stash`` (or, when it is replaying, take from it)."""
    token = _ACTIVE.set(stash)
    try:
        yield stash
    finally:
        _ACTIVE.reset(token)


def active_stash() -> ScanStash | None:
    """The stash of the innermost ``stashing`` block, or None outside any."""
    return _ACTIVE.get()
