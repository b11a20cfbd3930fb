"""LightningDataModule for species classification: balanced random training windows, a fixed
seeded set of validation windows per species."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Optional

import lightning as L
import torch
from omegaconf import MISSING
from torch.utils.data import DataLoader

from mambaseq.biomamba import (DNATokenizer, LabelledWindows, NFilter, RandomWindows,
                               load_species_split)

from mambaseq.core import ConfigError

from ..config import WarmupWindowsConfig, check_fraction
from .step_loader import BatchShape, StepLoader, step_loader, window_schedule
from .variable_length import classification_batch, variable_length_windows


@dataclass
class SpeciesDataConfig(WarmupWindowsConfig):
    """Species classification windows: one FASTA per species in ``train_dir`` (and ``val_dir``),
    the file name being the label. Without ``val_dir`` the last ``val_fraction`` of every
    training record is the validation set. ``seq_len_warmup`` (the Mamba paper's recipe for
    windows above 2^14) trains on shorter windows first; validation is at ``seq_len``."""

    train_dir: str = MISSING
    val_dir: Optional[str] = None
    val_fraction: float = 0.1
    train_windows_per_epoch: int = 4096  # species drawn equally often
    val_windows_per_species: int = 64    # fixed: drawn once with val_seed
    val_seed: int = 1234
    rc_augment: bool = False
    max_n_fraction: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fraction("data.val_fraction", self.val_fraction)
        check_fraction("data.max_n_fraction", self.max_n_fraction, upper_closed=True)
        for name in ("train_windows_per_epoch", "val_windows_per_species"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1, got {getattr(self, name)}")


class SpeciesDataModule(L.LightningDataModule):
    """Batches (ids (batch, length) int64 right-padded, lengths (batch,), labels (batch,)),
    length = ``seq_len`` (a warm-up stage's length during ``seq_len_warmup``).

    Training windows: every species drawn equally often, then a uniformly random window of its
    records (a new draw every epoch; reverse-complemented half the time with ``rc_augment``).
    Validation windows: ``val_windows_per_species`` per species, drawn once with ``val_seed``.
    A record shorter than ``seq_len`` gives one padded window; mostly-N windows are skipped.
    With ``min_seq_len``, training windows have random lengths and come as
    ``classification_batch`` batches, packed or padded (``pipelines.data.variable_length``).
    ``classes`` (sorted species labels) is known after ``setup``. Every process validates on
    all the validation windows; training batches are split across processes here
    (``shards_by_rank``).
    """

    shards_by_rank = True

    def __init__(self, cfg: SpeciesDataConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed
        self.tokenizer = DNATokenizer()

    def setup(self, stage: str | None = None) -> None:
        cfg = self.cfg
        self.split = load_species_split(cfg.train_dir, cfg.val_dir, cfg.val_fraction)
        self.classes = self.split.classes
        self.keep = NFilter(cfg.max_n_fraction)
        self.val_windows = []
        for k in range(len(self.classes)):
            regions = [r for r, g in zip(self.split.val, self.split.val_groups) if g == k]
            self.val_windows += list(RandomWindows(regions, cfg.seq_len, cfg.val_windows_per_species,
                                                   cfg.val_seed + k, keep=self.keep))
        self.dataset = LabelledWindows(cfg.seq_len, self.tokenizer, self.split.sources())

    def train_dataloader(self) -> StepLoader:
        """Balanced random windows, a new draw for every step; resumable mid-epoch; each of
        the Trainer's processes reads its slice of every step's global batch. With
        ``seq_len_warmup`` a step's windows have its stage's length and batch (the tokens per
        step stay ``batch_size * seq_len``), its ids cut to that length."""
        cfg = self.cfg
        samplers: dict[int, RandomWindows] = {}

        def sampler(length: int) -> RandomWindows:
            if length not in samplers:
                samplers[length] = RandomWindows(
                    self.split.train, length, cfg.batch_size, self.seed,
                    groups=self.split.train_groups, rc_prob=0.5 if cfg.rc_augment else 0.0,
                    keep=self.keep)
            return samplers[length]

        def draw(step: int, shape: BatchShape) -> list:
            return sampler(shape.length).batch(step, shape.batch)

        steps_per_epoch = cfg.train_windows_per_epoch // cfg.batch_size
        if cfg.min_seq_len is None:
            return step_loader(self, self.dataset, draw, window_schedule(cfg), steps_per_epoch,
                               cfg.num_workers, collate_fn=partial(classification_batch, packed=False))
        return step_loader(self, self.dataset,
                           variable_length_windows(cfg, sampler(cfg.seq_len).batch, self.seed),
                           window_schedule(cfg), steps_per_epoch, cfg.num_workers,
                           collate_fn=partial(classification_batch, packed=cfg.pack))

    def val_dataloader(self) -> DataLoader:
        """The fixed validation windows, all of them in every process (so every process
        computes the exact metrics); drawing worker seeds from its own generator, it leaves
        the global random number generators as they were."""
        return DataLoader(self.dataset, batch_size=self.cfg.batch_size, sampler=self.val_windows,
                          num_workers=self.cfg.num_workers, generator=torch.Generator())
