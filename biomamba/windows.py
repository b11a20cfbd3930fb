"""Windows of DNA for language modelling: regions of FASTA records, a seeded random sampler
for training, a fixed tiling for validation, and the dataset that reads and tokenizes them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torch.utils.data import Dataset, Sampler

from .fasta import FastaError, open_fasta
from .tokenizer import DNATokenizer


@dataclass(frozen=True)
class Region:
    """Bases [start, end) of one FASTA record (0-based, end exclusive)."""

    record: str
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


def split_records(fasta_path: str | Path, records: list[str] | None, val_fraction: float
                  ) -> tuple[list[Region], list[Region]]:
    """Cut each record (all when ``records`` is None) into a train head and a validation
    tail of ``val_fraction`` of its length: no window of one split overlaps the other."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    fasta = open_fasta(fasta_path)
    names = list(fasta.keys()) if records is None else records
    train, val = [], []
    for name in names:
        if name not in fasta:
            raise FastaError(f"{fasta_path}: no record named {name!r} (has: {', '.join(list(fasta.keys())[:10])})")
        length = len(fasta[name])
        cut = int(round(length * (1 - val_fraction)))
        train.append(Region(name, 0, cut))
        val.append(Region(name, cut, length))
    return train, val


class RandomWindows(Sampler):
    """``num_samples`` random window starts per epoch, (record, start) pairs; regions drawn in
    proportion to how many windows of ``length`` they hold. Deterministic given (seed, epoch):
    Lightning calls ``set_epoch``, so every epoch differs and a resumed run sees the same
    windows as an uninterrupted one."""

    def __init__(self, regions: list[Region], length: int, num_samples: int, seed: int) -> None:
        self.regions = [r for r in regions if len(r) >= length]
        if not self.regions:
            raise ValueError(f"no region holds a window of {length} bases "
                             f"(longest: {max((len(r) for r in regions), default=0)})")
        self.length, self.num_samples, self.seed, self.epoch = length, num_samples, seed, 0
        self.weights = torch.tensor([len(r) - length + 1 for r in self.regions], dtype=torch.float64)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[tuple[str, int]]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        which = torch.multinomial(self.weights, self.num_samples, replacement=True, generator=g)
        offsets = (torch.rand(self.num_samples, generator=g, dtype=torch.float64)
                   * self.weights[which]).long()
        for i, off in zip(which.tolist(), offsets.tolist()):
            yield self.regions[i].record, self.regions[i].start + off


def tiled_windows(regions: list[Region], length: int, max_windows: int | None = None
                  ) -> list[tuple[str, int]]:
    """Non-overlapping window starts covering each region from its start: the fixed
    validation set (the first ``max_windows`` when given)."""
    starts = [(r.record, s) for r in regions for s in range(r.start, r.end - length + 1, length)]
    return starts[:max_windows] if max_windows is not None else starts


class FastaWindows(Dataset):
    """Reads the window (record, start) of ``length`` bases and returns its token ids,
    (length,) int64. The FASTA is opened lazily in each worker process."""

    def __init__(self, fasta_path: str | Path, length: int, tokenizer: DNATokenizer) -> None:
        self.fasta_path, self.length, self.tokenizer = str(fasta_path), length, tokenizer
        self._fasta = None

    def __getitem__(self, key: tuple[str, int]) -> torch.Tensor:
        if self._fasta is None:
            self._fasta = open_fasta(self.fasta_path)
        record, start = key
        text = self._fasta[record][start: start + self.length]
        return self.tokenizer.encode(text, record=f"{self.fasta_path}:{record}", offset=start)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fasta": None}
