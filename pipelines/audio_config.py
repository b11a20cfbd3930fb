"""Job configs of the audio domain: raw-waveform pretraining and the SC09 digit classifier.
Same loading and error rules as ``pipelines.config`` (OptimConfig and TrainerConfig shared)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING

from mambaseq.audiomamba import CLIP_SAMPLES, CODEC_KINDS
from mambaseq.core import ConfigError

from .config import OptimConfig, PretrainModelConfig, TrainerConfig, check_variable_length

AUDIO_DATASETS = ("sc09", "folder")
BACKBONE_KINDS = ("mamba", "sashimi")


@dataclass
class AudioDataConfig:
    """Waveforms as token ids. ``dataset``: "sc09" (Speech Commands layout: word folders,
    validation_list.txt, testing_list.txt; 1-s clips) or "folder" (every WAV/FLAC under
    ``root``, e.g. YouTubeMix: split by file in sorted order, random crops of ``seq_len``
    samples for training, fixed non-overlapping crops for validation and test)."""

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
    batch_size: int = 16                 # items per optimizer step, over all processes
    num_workers: int = 0
    # folder: training crops of random length in [min_seq_len, seq_len], max_tokens samples a
    # batch, packed back to back (pack) or padded to the longest (pipelines.packing)
    min_seq_len: Optional[int] = None
    pack: bool = True
    max_tokens: Optional[int] = None

    def __post_init__(self) -> None:
        if self.dataset not in AUDIO_DATASETS:
            raise ConfigError(f"data.dataset must be one of {AUDIO_DATASETS}, got {self.dataset!r}")
        if self.codec not in CODEC_KINDS:
            raise ConfigError(f"data.codec must be one of {CODEC_KINDS}, got {self.codec!r}")
        if not 1 <= self.bits <= 16:
            raise ConfigError(f"data.bits must be in [1, 16], got {self.bits}")
        for name in ("sample_rate", "seq_len", "train_crops_per_epoch", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be positive, got {getattr(self, name)}")
        if self.dataset == "sc09" and self.seq_len != CLIP_SAMPLES:
            raise ConfigError(f"data.seq_len must be {CLIP_SAMPLES} for dataset sc09 (the model "
                              f"reads one silent sample then the 1-s clip), got {self.seq_len}")
        for name in ("val_fraction", "test_fraction"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.min_seq_len is not None and self.dataset == "sc09":
            raise ConfigError("data.min_seq_len: sc09 clips all have one length; variable-length "
                              "crops need dataset: folder")
        check_variable_length(self)


@dataclass
class BackboneConfig:
    """``kind`` "sashimi": the multi-scale U-Net (``pool`` factors from the outside in, width
    x ``expand`` per pooling; model.n_layer blocks per stack); "mamba": the flat MambaLM."""

    kind: str = "sashimi"
    pool: list[int] = field(default_factory=lambda: [4, 4])
    expand: int = 2

    def __post_init__(self) -> None:
        if self.kind not in BACKBONE_KINDS:
            raise ConfigError(f"backbone.kind must be one of {BACKBONE_KINDS}, got {self.kind!r}")
        if not self.pool or any(p < 2 for p in self.pool):
            raise ConfigError(f"backbone.pool must be a non-empty list of integers >= 2, got {self.pool}")
        if self.expand < 1:
            raise ConfigError(f"backbone.expand must be a positive integer, got {self.expand}")


@dataclass
class PretrainAudioConfig:
    """``mambaseq pretrain`` with ``domain: audio``: a language model over audio tokens."""

    domain: str = "audio"
    model: PretrainModelConfig = field(default_factory=lambda: PretrainModelConfig(vocab_size=256))
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    data: AudioDataConfig = field(default_factory=AudioDataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def __post_init__(self) -> None:
        if self.data.min_seq_len is not None and self.data.pack and self.backbone.kind != "mamba":
            raise ConfigError("data.pack: packed sequences need backbone.kind: mamba (the U-Net's "
                              "pooling would mix neighbouring sequences); set data.pack=false")


@dataclass
class ClassifierDataConfig:
    """The SC09 folder the classifier learns from (train split; validation for checkpoints)."""

    root: str = MISSING
    sample_rate: int = 16000
    batch_size: int = 64
    num_workers: int = 0


@dataclass
class SC09ClassifierConfig:
    """``mambaseq sc09-classifier``: the digit classifier behind FID / IS / mIS / AM."""

    data: ClassifierDataConfig = field(default_factory=ClassifierDataConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=3e-3, weight_decay=0.01,
                                                                    betas=[0.9, 0.999]))
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(run_name="sc09-classifier"))
