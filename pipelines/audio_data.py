"""LightningDataModules for audio: token sequences for language modelling (SC09 clips or
crops of a folder of files) and labelled SC09 waveforms for the digit classifier."""
from __future__ import annotations

from functools import partial

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from mambaseq.audiomamba import (AudioFileError, ClipTokens, Codec, EncodedAudio, RandomCrops,
                                 SC09Clips, audio_files, split_files, tiled_crops)

from .audio_config import AudioDataConfig, ClassifierDataConfig
from .packing import lm_batch, variable_length_crops
from .step_data import EpochShuffle, LengthSchedule, StepLoader, step_loader


class AudioTokensDataModule(L.LightningDataModule):
    """Batches of (batch, seq_len + 1) token ids: inputs ids[:, :-1], targets ids[:, 1:].

    sc09: each item is one silent sample then the 16000-sample clip; train is shuffled
    (seeded), validation and test in order. folder: random crops of train files, tiled crops
    of validation and test files (files split in sorted order); with ``min_seq_len``,
    training crops of random lengths come as packed or padded ``lm_batch`` dicts. Training
    batches are indexed by the step (exact resume) and split across processes here
    (``shards_by_rank``)."""

    shards_by_rank = True

    def __init__(self, cfg: AudioDataConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed
        self.codec = Codec(cfg.codec, cfg.bits)
        self._datasets: dict[str, tuple[Dataset, list | None]] = {}

    def dataset(self, split: str) -> tuple[Dataset, list | None]:
        """(dataset, fixed keys or None) of "train", "validation" or "test"; built once."""
        if split not in self._datasets:
            self._datasets[split] = self._build(split)
        return self._datasets[split]

    def _build(self, split: str) -> tuple[Dataset, list | None]:
        cfg = self.cfg
        if cfg.dataset == "sc09":
            clips = ClipTokens(SC09Clips(cfg.root, split, cfg.sample_rate), self.codec)
            if split == "validation" and cfg.max_val_crops is not None:
                clips = Subset(clips, range(min(cfg.max_val_crops, len(clips))))
            return clips, None
        files = split_files(audio_files(cfg.root), cfg.val_fraction, cfg.test_fraction)[split]
        if not files:
            raise AudioFileError(f"data.root={cfg.root}: the {split} split holds no file; raise "
                                 f"data.{'val' if split == 'validation' else 'test'}_fraction")
        data = EncodedAudio(files, self.codec, cfg.seq_len + 1, cfg.sample_rate)
        if split == "train":
            return data, None
        crops = tiled_crops(data.lengths, cfg.seq_len + 1,
                            cfg.max_val_crops if split == "validation" else None)
        if not crops:
            raise AudioFileError(f"data.root={cfg.root}: no {split} file holds a crop of "
                                 f"data.seq_len + 1 = {cfg.seq_len + 1} samples")
        return data, crops

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit"):
            self.dataset("train")
        if stage in (None, "fit", "validate"):
            self.dataset("validation")

    def dataloader(self, split: str) -> DataLoader:
        """The loader of the fixed items of "validation" or "test", in order (every process
        reads all of them); worker seeds come from its own generator, so the global random
        number generators are left as they were."""
        data, keys = self.dataset(split)
        return DataLoader(data, batch_size=self.cfg.batch_size, sampler=keys,
                          num_workers=self.cfg.num_workers, generator=torch.Generator())

    def train_dataloader(self) -> StepLoader:
        """Random crops (folder; a new draw every step) or the clips in a new seeded order
        every epoch (sc09); ``batch_size`` items per step over all processes, each process
        reading its slice; resumable mid-epoch."""
        data, _ = self.dataset("train")
        cfg = self.cfg
        schedule = LengthSchedule(cfg.seq_len, cfg.batch_size)
        if cfg.dataset == "folder":
            crops = RandomCrops(data.lengths, cfg.seq_len + 1, cfg.batch_size, self.seed)
            steps_per_epoch = cfg.train_crops_per_epoch // cfg.batch_size
            if cfg.min_seq_len is not None:
                return step_loader(self, data, variable_length_crops(cfg, crops.batch, self.seed),
                                   schedule, steps_per_epoch, cfg.num_workers,
                                   collate_fn=partial(lm_batch, packed=cfg.pack, pad_id=0))
            draw = lambda step, shape: crops.batch(step, shape.batch)  # noqa: E731
        else:
            draw = EpochShuffle(len(data), cfg.batch_size, self.seed)
            steps_per_epoch = draw.steps_per_epoch
        return step_loader(self, data, draw, schedule, steps_per_epoch, cfg.num_workers)

    def val_dataloader(self) -> DataLoader:
        return self.dataloader("validation")

    def test_dataloader(self) -> DataLoader:
        return self.dataloader("test")


class SC09WavesDataModule(L.LightningDataModule):
    """(waves (batch, 16000) float32, digits (batch,) int64) from an SC09 folder."""

    def __init__(self, cfg: ClassifierDataConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed

    def setup(self, stage: str | None = None) -> None:
        self.splits = {s: SC09Clips(self.cfg.root, s, self.cfg.sample_rate)
                       for s in ("train", "validation", "test")}

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        return DataLoader(self.splits[split], batch_size=self.cfg.batch_size, shuffle=shuffle,
                          generator=torch.Generator().manual_seed(self.seed) if shuffle else None,
                          num_workers=self.cfg.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
