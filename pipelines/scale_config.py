"""Config schema of ``mambaseq scale``: a sweep of DNA language-model runs over context
lengths and model sizes at a fixed number of tokens per optimiser step."""
from __future__ import annotations

from dataclasses import dataclass, field

from mambaseq.core import ConfigError, MambaConfig

from .config import DNADataConfig, OptimConfig, TrainerConfig


@dataclass
class ModelSize:
    """One model size of the sweep; the other shape keys come from the config's ``model``."""

    d_model: int = 64
    n_layer: int = 2


@dataclass
class SweepConfig:
    """Every (size, length) pair is one run of ``trainer.max_steps`` steps on batches of
    ``tokens_per_step // 2**log2_length`` windows of 2**log2_length bases."""

    log2_lengths: list[int] = field(default_factory=lambda: [10, 12, 14])
    sizes: list[ModelSize] = field(default_factory=lambda: [ModelSize()])
    tokens_per_step: int = 2 ** 16

    def __post_init__(self) -> None:
        if not self.log2_lengths or not self.sizes:
            raise ConfigError("sweep.log2_lengths and sweep.sizes must not be empty")
        if any(not 1 <= k <= 30 for k in self.log2_lengths):
            raise ConfigError(f"sweep.log2_lengths must lie in [1, 30], got {self.log2_lengths}")
        longest = 2 ** max(self.log2_lengths)
        if self.tokens_per_step < longest:
            raise ConfigError(f"sweep.tokens_per_step = {self.tokens_per_step} is less than the "
                              f"longest length 2^{max(self.log2_lengths)} = {longest}: raise it "
                              f"(a step holds at least one window)")


@dataclass
class ScaleJobConfig:
    """``mambaseq scale``: ``model`` and ``data`` are the base of every run; each run sets
    model.d_model/n_layer from ``sweep.sizes`` and data.seq_len/batch_size from the sweep."""

    model: MambaConfig = field(default_factory=MambaConfig)
    data: DNADataConfig = field(default_factory=DNADataConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
