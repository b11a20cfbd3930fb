"""LightningDataModule for DNA language modelling: random train windows (random shift,
optional reverse-complement augmentation), fixed tiled validation windows; regions from a BED
file with a split column (HG38 recipe) or from the records of a FASTA file."""
from __future__ import annotations

import glob
import sys
from dataclasses import dataclass
from functools import partial
from itertools import zip_longest
from typing import Optional

import lightning as L
import torch
from omegaconf import MISSING
from torch.utils.data import DataLoader

from mambaseq.biomamba import (DNATokenizer, FastaWindows, NFilter, RandomWindows, Region,
                               Window, bed_regions, split_records, tiled_windows)
from mambaseq.core import ConfigError

from ..config import ConfigFileError, WarmupWindowsConfig, check_fraction
from .step_loader import BatchShape, StepLoader, step_loader, window_schedule
from .variable_length import lm_batch, variable_length_windows


@dataclass
class DNADataConfig(WarmupWindowsConfig):
    """DNA windows for language modelling. ``fasta`` (and ``val_fasta``) name one file or
    several by a pattern (``train/*.fa.gz``: every species). The validation set is, in order
    of precedence: the BED intervals of split ``val_split`` (HG38 recipe), every record of the
    ``val_fasta`` files (then every record of ``fasta`` trains), the records named in
    ``val_records``, or the last ``val_fraction`` of every record. ``max_val_windows`` takes
    windows from every validation record in turn, so that all of them are scored."""

    fasta: str = MISSING                 # plain, BGZF or gzip FASTA; a glob pattern for several
    val_fasta: Optional[str] = None      # file or pattern: its records are the validation set
    bed: Optional[str] = None            # BED: chrom, start, end, split (sequences_human.bed)
    train_split: str = "train"           # BED split names
    val_split: str = "valid"
    records: Optional[list[str]] = None  # without BED: records to use (None: every record)
    val_records: Optional[list[str]] = None  # without BED: records held out whole
    val_fraction: float = 0.1
    train_windows_per_epoch: int = 2048
    max_val_windows: Optional[int] = None
    rc_augment: bool = False             # reverse-complement half the training windows
    max_n_fraction: float = 0.5          # windows with more N than this are skipped

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fraction("data.val_fraction", self.val_fraction)
        check_fraction("data.max_n_fraction", self.max_n_fraction, upper_closed=True)
        if self.train_windows_per_epoch < 1:
            raise ConfigError(f"data.train_windows_per_epoch must be >= 1, got "
                              f"{self.train_windows_per_epoch}")
        if self.max_val_windows is not None and self.max_val_windows < 1:
            raise ConfigError(f"data.max_val_windows must be >= 1 or null (no limit), got "
                              f"{self.max_val_windows}")


def fasta_files(key: str, pattern: str) -> list[str]:
    """The files that ``pattern`` names, sorted: itself when it is no glob pattern (a missing
    file is then reported by the reader), else its matches (none: ``ConfigFileError``)."""
    if not glob.has_magic(pattern):
        return [pattern]
    files = sorted(glob.glob(pattern))
    if not files:
        raise ConfigFileError(f"{key}={pattern}: no file matches this pattern")
    return files


def lm_regions(cfg: DNADataConfig) -> tuple[list[Region], list[Region]]:
    """(train, validation) regions: from ``cfg.bed`` when set, else from the records of the
    ``fasta`` files (with ``val_fasta``: all of them train and its files' records validate;
    else ``val_records`` held out whole, or the last ``val_fraction`` of each)."""
    files = fasta_files("data.fasta", cfg.fasta)
    if cfg.bed is not None:
        if len(files) > 1 or cfg.val_fasta is not None:
            raise ConfigFileError("data.bed takes one data.fasta file and no data.val_fasta")
        return (bed_regions(cfg.bed, cfg.fasta, cfg.train_split),
                bed_regions(cfg.bed, cfg.fasta, cfg.val_split))
    train: list[Region] = []
    val: list[Region] = []
    for path in files:
        if cfg.val_fasta is None:
            part = split_records(path, cfg.records, cfg.val_fraction, cfg.val_records)
        else:
            part = split_records(path, cfg.records, 0.5, [])   # every record trains
        train += part[0]
        val += part[1]
    for path in fasta_files("data.val_fasta", cfg.val_fasta) if cfg.val_fasta else []:
        val += split_records(path, None, 0.5, [])[0]
    return train, val


def interleaved_tiles(regions: list[Region], length: int, max_windows: int | None,
                      keep: NFilter) -> list[Window]:
    """The tiled windows of every region, taken from each region in turn (its first window,
    then every region's second, ...) up to ``max_windows``: a capped validation set still
    covers every record, and the same leading bases of each at every window length."""
    per_region = [tiled_windows([r], length, max_windows, keep=keep) for r in regions]
    order = [w for tier in zip_longest(*per_region) for w in tier if w is not None]
    return order[:max_windows] if max_windows is not None else order


class DNAWindowsDataModule(L.LightningDataModule):
    """Windows of ``seq_len + 1`` bases (inputs plus the next-base targets), (batch,
    seq_len + 1) int64 (shorter during sequence-length warm-up). Regions shorter than a
    window are left out (a language model's loss would otherwise count padding); windows more
    than ``max_n_fraction`` N are skipped. With ``min_seq_len``, training windows have random
    lengths and come as ``lm_batch`` dicts, packed or padded (``pipelines.data.variable_length``). It
    splits batches across processes itself (``shards_by_rank``): the Trainer must not add a
    distributed sampler."""

    shards_by_rank = True

    def __init__(self, cfg: DNADataConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed
        self.tokenizer = DNATokenizer()

    def setup(self, stage: str | None = None) -> None:
        """Read the regions and fix the validation windows (once: jobs call it to check the
        data before they write the run folder, and the Trainer calls it again)."""
        if hasattr(self, "dataset"):
            return
        cfg, length = self.cfg, self.cfg.seq_len + 1
        train, val = lm_regions(cfg)
        short = [r for r in train if len(r) < length]
        if short:
            print(f"[mambaseq] {cfg.fasta}: {len(short)} training region(s) shorter than "
                  f"{length} bases left out ({sum(len(r) for r in short):,} bases)", file=sys.stderr)
        self.train_regions = [r for r in train if len(r) >= length]
        if not self.train_regions:
            raise ConfigFileError(f"data.fasta={cfg.fasta}: no training region holds a window of "
                             f"data.seq_len + 1 = {length} bases")
        self.keep = NFilter(cfg.max_n_fraction)
        self.val_regions = val
        self.val_windows = interleaved_tiles(val, length, cfg.max_val_windows, self.keep)
        if not self.val_windows:
            raise ConfigFileError(f"data.fasta={cfg.fasta}: the validation part holds no window of "
                             f"data.seq_len + 1 = {length} bases that is not mostly N; lower "
                             f"data.seq_len or enlarge the validation split")
        self.dataset = FastaWindows(length, self.tokenizer)

    def train_dataloader(self) -> StepLoader:
        """Random windows, a new draw for every step; resumable mid-epoch; each of the
        Trainer's processes reads its slice of every step's global batch. An epoch is
        ``train_windows_per_epoch // batch_size`` steps (as many tokens at every warm-up stage)."""
        cfg = self.cfg
        samplers: dict[int, RandomWindows] = {}

        def draw(step: int, shape: BatchShape) -> list:
            if shape.length not in samplers:
                samplers[shape.length] = RandomWindows(
                    self.train_regions, shape.length + 1, shape.batch, self.seed,
                    rc_prob=0.5 if cfg.rc_augment else 0.0, keep=self.keep)
            return samplers[shape.length].batch(step, shape.batch)

        steps_per_epoch = cfg.train_windows_per_epoch // cfg.batch_size
        if cfg.min_seq_len is None:
            return step_loader(self, self.dataset, draw, window_schedule(cfg), steps_per_epoch,
                               cfg.num_workers)

        def windows(step: int, n: int) -> list:
            return draw(step, BatchShape(cfg.seq_len, n))

        return step_loader(self, self.dataset,
                           variable_length_windows(cfg, windows, self.seed, extra=1),
                           window_schedule(cfg), steps_per_epoch, cfg.num_workers,
                           collate_fn=partial(lm_batch, packed=cfg.pack,
                                              pad_id=self.tokenizer.pad_id))

    def val_dataloader(self) -> DataLoader:
        """The fixed validation windows, all of them in every process (so every process
        computes the exact metrics); drawing worker seeds from its own generator, it leaves
        the global random number generators as they were."""
        return DataLoader(self.dataset, batch_size=self.cfg.batch_size, sampler=self.val_windows,
                          num_workers=self.cfg.num_workers, generator=torch.Generator())
