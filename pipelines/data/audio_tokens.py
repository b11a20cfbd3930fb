"""LightningDataModules for audio: token sequences for language modelling (SC09 clips or
crops of a folder of files) and labelled SC09 waveforms for the digit classifier."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Optional

import lightning as L
import torch
from omegaconf import MISSING
from torch.utils.data import DataLoader, Dataset, Subset

from mambaseq.audiomamba import (CLIP_SAMPLES, CODEC_KINDS, AudioFileError, ClipTokens, Codec,
                                 EncodedAudio, RandomCrops, SC09Clips, audio_files, split_files,
                                 tiled_crops)
from mambaseq.core import ConfigError

from ..config import LoaderConfig, VariableLengthConfig
from .step_loader import EpochShuffle, LengthSchedule, StepLoader, step_loader
from .variable_length import lm_batch, variable_length_crops

AUDIO_DATASETS = ("sc09", "folder")


@dataclass
class AudioDataConfig(VariableLengthConfig):
    """Waveforms as token ids. ``dataset``: "sc09" (Speech Commands layout: word folders,
    validation_list.txt, testing_list.txt; 1-s clips) or "folder" (every WAV/FLAC under
    ``root``, e.g. YouTubeMix: split by file in sorted order, random crops of ``seq_len``
    samples for training, fixed non-overlapping crops for validation and test; with
    ``join_files`` a split's files are one stream cut in order, and crops may span the cuts,
    as long crops of YouTubeMix's one-minute files must)."""

    dataset: str = "folder"
    root: str = MISSING
    codec: str = "mulaw"                 # "mulaw" or "linear"
    bits: int = 8                        # 2 ** bits tokens
    sample_rate: int = 16000             # files at other rates are resampled
    seq_len: int = CLIP_SAMPLES          # samples the model reads; sc09: the clip (16000)
    val_fraction: float = 0.05           # folder: share of the files held out for validation
    test_fraction: float = 0.05          # folder: share of the files held out for testing
    train_crops_per_epoch: int = 4096    # folder
    max_val_crops: Optional[int] = None  # sc09: clips; folder: crops
    join_files: bool = False             # folder: each split's files, sorted, as one stream

    def __post_init__(self) -> None:
        if self.dataset not in AUDIO_DATASETS:
            raise ConfigError(f"data.dataset must be one of {AUDIO_DATASETS}, got {self.dataset!r}")
        if self.codec not in CODEC_KINDS:
            raise ConfigError(f"data.codec must be one of {CODEC_KINDS}, got {self.codec!r}")
        if not 1 <= self.bits <= 16:
            raise ConfigError(f"data.bits must be in [1, 16], got {self.bits}")
        super().__post_init__()
        for name in ("sample_rate", "train_crops_per_epoch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be positive, got {getattr(self, name)}")
        if self.dataset == "sc09" and self.seq_len != CLIP_SAMPLES:
            raise ConfigError(f"data.seq_len must be {CLIP_SAMPLES} for dataset sc09 (the model "
                              f"reads one silent sample then the 1-s clip), got {self.seq_len}")
        for name in ("val_fraction", "test_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.join_files and self.dataset == "sc09":
            raise ConfigError("data.join_files: sc09 clips are separate recordings; joining "
                              "files needs dataset: folder")
        if self.min_seq_len is not None and self.dataset == "sc09":
            raise ConfigError("data.min_seq_len: sc09 clips all have one length; variable-length "
                              "crops need dataset: folder")


@dataclass
class ClassifierDataConfig(LoaderConfig):
    """The SC09 folder the classifier learns from (train split; validation for checkpoints)."""

    root: str = MISSING
    sample_rate: int = 16000
    batch_size: int = 64


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
        data = EncodedAudio(files, self.codec, cfg.seq_len + 1, cfg.sample_rate,
                            join=cfg.join_files)
        if split == "train":
            return data, None
        crops = tiled_crops(data.lengths, cfg.seq_len + 1,
                            cfg.max_val_crops if split == "validation" else None)
        if not crops:
            raise AudioFileError(f"data.root={cfg.root}: no {split} file holds a crop of "
                                 f"data.seq_len + 1 = {cfg.seq_len + 1} samples"
                                 + ("" if cfg.join_files else "; data.join_files=true joins "
                                    "consecutive files"))
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
