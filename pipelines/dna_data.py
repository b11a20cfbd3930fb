"""LightningDataModule for DNA language modelling: random train windows, tiled validation."""
from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader

from biomamba import DNATokenizer, FastaWindows, RandomWindows, split_records, tiled_windows

from .config import DNADataConfig


class DNAWindowsDataModule(L.LightningDataModule):
    """Windows of ``seq_len + 1`` bases (inputs plus the next-base targets) from a FASTA file;
    the last ``val_fraction`` of every record is the validation set."""

    def __init__(self, cfg: DNADataConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed
        self.tokenizer = DNATokenizer()

    def setup(self, stage: str | None = None) -> None:
        cfg = self.cfg
        self.train_regions, self.val_regions = split_records(cfg.fasta, cfg.records, cfg.val_fraction)
        self.val_starts = tiled_windows(self.val_regions, cfg.seq_len + 1, cfg.max_val_windows)
        if not self.val_starts:
            raise ValueError(f"data.fasta={cfg.fasta}: the validation part holds no window of "
                             f"data.seq_len + 1 = {cfg.seq_len + 1} bases; lower data.seq_len or "
                             f"raise data.val_fraction")
        self.dataset = FastaWindows(cfg.fasta, cfg.seq_len + 1, self.tokenizer)

    def train_dataloader(self) -> DataLoader:
        sampler = RandomWindows(self.train_regions, self.cfg.seq_len + 1,
                                self.cfg.train_windows_per_epoch, self.seed)
        return DataLoader(self.dataset, batch_size=self.cfg.batch_size, sampler=sampler,
                          num_workers=self.cfg.num_workers, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.cfg.batch_size, sampler=self.val_starts,
                          num_workers=self.cfg.num_workers)
