"""Windows of DNA: regions of FASTA records, seeded random windows for training (optionally
balanced across groups, with reverse-complement augmentation and mostly-N windows skipped),
fixed windows for validation, sliding windows for inference, and the datasets that read and
tokenize them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import torch
from torch.utils.data import Dataset, Sampler

from .fasta import FastaCache, FastaError, open_fasta
from .tokenizer import DNATokenizer


@dataclass(frozen=True)
class Region:
    """Bases [start, end) of one record of the FASTA file ``source`` (0-based, end exclusive)."""

    record: str
    start: int
    end: int
    source: str = ""

    def __len__(self) -> int:
        return self.end - self.start


class Window(NamedTuple):
    """Bases [start, stop) of ``record`` in the FASTA file ``source``; read as a window of a
    fixed length, right-padded past ``stop``; ``rc``: read its reverse complement."""

    source: str
    record: str
    start: int
    stop: int
    rc: bool = False


def split_records(fasta_path: str | Path, records: list[str] | None, val_fraction: float,
                  val_records: list[str] | None = None) -> tuple[list[Region], list[Region]]:
    """Train and validation regions of a FASTA file, so that no window of one split overlaps
    the other.

    With ``val_records``: those records (whole) are the validation set and the others of
    ``records`` (all when None) the training set. Without: each record is cut into a train
    head and a validation tail of ``val_fraction`` of its length.
    """
    fasta = open_fasta(fasta_path)
    source = str(fasta_path)
    names = list(fasta.keys()) if records is None else list(records)
    for name in names + list(val_records or []):
        if name not in fasta:
            raise FastaError(f"{fasta_path}: no record named {name!r} "
                             f"(has: {', '.join(list(fasta.keys())[:10])})")
    if val_records is not None:
        held = set(val_records)
        train = [Region(n, 0, len(fasta[n]), source) for n in names if n not in held]
        val = [Region(n, 0, len(fasta[n]), source) for n in val_records]
        if not train:
            raise FastaError(f"{fasta_path}: every record is a validation record; none is left "
                             f"for training")
        return train, val
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    train, val = [], []
    for name in names:
        length = len(fasta[name])
        cut = int(round(length * (1 - val_fraction)))
        train.append(Region(name, 0, cut, source))
        val.append(Region(name, cut, length, source))
    return train, val


def window_count(region: Region, length: int) -> int:
    """Distinct starts of a ``length`` window inside ``region``; 1 for a shorter non-empty
    region (its one window is the whole region, padded)."""
    return max(len(region) - length + 1, 1) if len(region) > 0 else 0


class RandomWindows(Sampler):
    """``num_samples`` random windows of ``length`` bases per epoch.

    Each window lies inside one region (a region shorter than ``length`` gives one padded
    window), so windows never cross a split. Starts are uniform over all positions (the
    random-shift augmentation in full: a window's phase differs every epoch); with ``groups``
    (one group id per region, e.g. the species) every group is drawn equally often, then a
    position within it. ``rc_prob``: chance that a window is read reverse-complemented.
    ``keep``: a window for which it returns False (e.g. mostly N) is redrawn.
    Deterministic given (seed, epoch): Lightning calls ``set_epoch``, so every epoch differs
    and a resumed run sees the same windows as an uninterrupted one.
    """

    MAX_REDRAWS = 100

    def __init__(self, regions: list[Region], length: int, num_samples: int, seed: int, *,
                 groups: list[int] | None = None, rc_prob: float = 0.0,
                 keep: Callable[[Window], bool] | None = None) -> None:
        if groups is not None and len(groups) != len(regions):
            raise ValueError(f"groups has {len(groups)} entries for {len(regions)} regions")
        counts = torch.tensor([window_count(r, length) for r in regions], dtype=torch.float64)
        if not counts.sum() > 0:
            raise ValueError(f"no region holds any base for windows of {length} bases")
        weights = counts.clone()
        if groups is not None:
            ids = torch.tensor(groups)
            for g in ids.unique():
                weights[ids == g] /= counts[ids == g].sum()
        self.regions, self.length, self.num_samples, self.seed = regions, length, num_samples, seed
        self.counts, self.weights, self.rc_prob, self.keep, self.epoch = counts, weights, rc_prob, keep, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def _window(self, region: int, offset: int, rc: bool) -> Window:
        r = self.regions[region]
        start = r.start + offset
        return Window(r.source, r.record, start, min(start + self.length, r.end), rc)

    def _draw(self, g: torch.Generator, n: int) -> list[Window]:
        which = torch.multinomial(self.weights, n, replacement=True, generator=g)
        offsets = (torch.rand(n, generator=g, dtype=torch.float64) * self.counts[which]).long()
        rc = torch.rand(n, generator=g) < self.rc_prob
        return [self._window(i, o, f) for i, o, f in zip(which.tolist(), offsets.tolist(), rc.tolist())]

    def _kept(self, g: torch.Generator, n: int) -> Iterator[Window]:
        for window in self._draw(g, n):
            redraws = 0
            while self.keep is not None and not self.keep(window):
                redraws += 1
                if redraws > self.MAX_REDRAWS:
                    raise FastaError(f"{window.source}: {self.MAX_REDRAWS} windows of "
                                     f"{self.length} bases in a row were rejected as mostly N; "
                                     f"raise max_n_fraction or check the regions")
                window = self._draw(g, 1)[0]
            yield window

    def __iter__(self) -> Iterator[Window]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        yield from self._kept(g, self.num_samples)

    def batch(self, step: int, size: int) -> list[Window]:
        """The ``size`` windows of training step ``step``: drawn as in an epoch, from a
        generator seeded by (seed, step) alone, so any step's batch can be produced without
        the steps before it (exact resume, data-parallel ranks splitting one global batch)."""
        g = torch.Generator().manual_seed((self.seed * 0x9E3779B97F4A7C15 + step) % 2 ** 63)
        return list(self._kept(g, size))


def tiled_windows(regions: list[Region], length: int, max_windows: int | None = None,
                  keep: Callable[[Window], bool] | None = None) -> list[Window]:
    """Non-overlapping full windows covering each region from its start, those that ``keep``
    rejects left out: the fixed validation set (the first ``max_windows`` when given)."""
    windows = []
    for r in regions:
        for s in range(r.start, r.end - length + 1, length):
            window = Window(r.source, r.record, s, s + length)
            if keep is None or keep(window):
                windows.append(window)
                if max_windows is not None and len(windows) == max_windows:
                    return windows
    return windows


def sliding_windows(source: str, record: str, record_length: int, length: int, stride: int
                    ) -> list[Window]:
    """Windows of ``length`` starting every ``stride`` bases until one reaches the record's
    end; that last one may be shorter (read padded)."""
    if length < 1 or stride < 1:
        raise ValueError(f"window ({length}) and stride ({stride}) must be positive")
    windows, start = [], 0
    while start < record_length:
        stop = min(start + length, record_length)
        windows.append(Window(source, record, start, stop))
        if stop == record_length:
            break
        start += stride
    return windows


class NFilter:
    """``keep`` predicate: True when at most ``max_fraction`` of a window's bases are N.
    Reads the window (sequence gaps, centromeres and telomeres are long runs of N)."""

    def __init__(self, max_fraction: float) -> None:
        if not 0 <= max_fraction <= 1:
            raise ValueError(f"max_n_fraction must be in [0, 1], got {max_fraction}")
        self.max_fraction, self.fastas = max_fraction, FastaCache()

    def __call__(self, window: Window) -> bool:
        if self.max_fraction >= 1:
            return True
        text = self.fastas[window.source][window.record][window.start: window.stop]
        return text.count("N") <= self.max_fraction * max(len(text), 1)


class WindowReader:
    """Reads a ``Window`` as (ids (length,) int64 right-padded with <pad>, number of bases).
    A reverse-complemented window keeps its padding on the right."""

    def __init__(self, length: int, tokenizer: DNATokenizer) -> None:
        self.length, self.tokenizer, self.fastas = length, tokenizer, FastaCache()

    def read(self, window: Window) -> tuple[torch.Tensor, int]:
        if window.stop - window.start > self.length:
            raise ValueError(f"{window}: longer than the window length {self.length}")
        text = self.fastas[window.source][window.record][window.start: window.stop]
        bases = self.tokenizer.encode(text, record=f"{window.source}:{window.record}",
                                      offset=window.start)
        if window.rc:
            bases = self.tokenizer.reverse_complement(bases)
        ids = torch.full((self.length,), self.tokenizer.pad_id, dtype=torch.int64)
        ids[: len(bases)] = bases
        return ids, len(bases)


class FastaWindows(Dataset):
    """Dataset over ``Window`` keys (given by a sampler): window -> its bases' ids
    (stop - start,) int64, for windows of up to ``max_length`` bases."""

    def __init__(self, max_length: int, tokenizer: DNATokenizer) -> None:
        self.reader = WindowReader(max_length, tokenizer)

    def __getitem__(self, window: Window) -> torch.Tensor:
        ids, valid = self.reader.read(window)
        return ids[:valid]


class LabelledWindows(Dataset):
    """Dataset over ``Window`` keys: window -> (ids (length,) int64, number of bases, class
    index), the class being ``labels[window.source]`` (one FASTA file per class)."""

    def __init__(self, length: int, tokenizer: DNATokenizer, labels: dict[str, int]) -> None:
        self.reader, self.labels = WindowReader(length, tokenizer), labels

    def __getitem__(self, window: Window) -> tuple[torch.Tensor, int, int]:
        ids, valid = self.reader.read(window)
        return ids, valid, self.labels[window.source]
