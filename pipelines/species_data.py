"""LightningDataModule for species classification: balanced random training windows, a fixed
seeded set of validation windows per species."""
from __future__ import annotations

from functools import partial

import lightning as L
from torch.utils.data import DataLoader

from biomamba import DNATokenizer, LabelledWindows, NFilter, RandomWindows, load_species_split

from .config import SpeciesDataConfig
from .packing import classification_batch, variable_length_loader


class SpeciesDataModule(L.LightningDataModule):
    """Batches (ids (batch, seq_len) int64 right-padded, lengths (batch,), labels (batch,)).

    Training windows: every species drawn equally often, then a uniformly random window of its
    records (a new draw every epoch; reverse-complemented half the time with ``rc_augment``).
    Validation windows: ``val_windows_per_species`` per species, drawn once with ``val_seed``.
    A record shorter than ``seq_len`` gives one padded window; mostly-N windows are skipped.
    With ``min_seq_len``, training windows have random lengths and come as
    ``classification_batch`` batches, packed or padded (``pipelines.packing``).
    ``classes`` (sorted species labels) is known after ``setup``.
    """

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

    def train_dataloader(self) -> DataLoader:
        cfg = self.cfg
        sampler = RandomWindows(self.split.train, cfg.seq_len, cfg.train_windows_per_epoch,
                                self.seed, groups=self.split.train_groups,
                                rc_prob=0.5 if cfg.rc_augment else 0.0, keep=self.keep)
        if cfg.min_seq_len is not None:
            return variable_length_loader(cfg, sampler, self.seed, self.dataset,
                                          partial(classification_batch, packed=cfg.pack))
        return DataLoader(self.dataset, batch_size=cfg.batch_size, sampler=sampler,
                          num_workers=cfg.num_workers, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.cfg.batch_size, sampler=self.val_windows,
                          num_workers=self.cfg.num_workers)
