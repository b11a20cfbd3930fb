"""Config schema of ``mambaseq synthetic``: the paper's diagnostic tasks (selective copying,
induction heads), the lengths the trained model is tested at, optimiser and trainer."""
from __future__ import annotations

from dataclasses import dataclass, field

from mambaseq.core import ConfigError, MambaConfig

from .config import OptimConfig, TrainerConfig
from .synthetic_data import check_task


@dataclass
class SyntheticDataConfig:
    """The task and its training length. ``seq_len``: selective copying's context (the
    ``n_data`` answer positions come on top), induction heads' whole sequence."""

    task: str = "selective_copying"      # selective_copying | induction_heads
    seq_len: int = 4096
    vocab_size: int = 16                 # specials included (blank + marker, or trigger)
    n_data: int = 16                     # selective copying: data tokens to copy
    batch_size: int = 8
    val_samples: int = 256
    num_workers: int = 0

    def __post_init__(self) -> None:
        for name in ("seq_len", "vocab_size", "n_data", "batch_size", "val_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be positive, got {getattr(self, name)}")
        try:
            check_task(self.task, self.seq_len, self.vocab_size, self.n_data)
        except ValueError as err:
            raise ConfigError(str(err)) from err


@dataclass
class LengthEvalConfig:
    """After training, test accuracy at each of ``lengths`` (the data's seq_len meaning) on
    ``samples`` fresh samples, ``max(1, tokens_per_batch // length)`` sequences a batch."""

    lengths: list[int] = field(default_factory=list)
    samples: int = 256
    tokens_per_batch: int = 65536

    def __post_init__(self) -> None:
        if self.samples < 1 or self.tokens_per_batch < 1 or any(n < 4 for n in self.lengths):
            raise ConfigError(f"eval.samples and eval.tokens_per_batch must be positive and every "
                              f"eval.lengths entry >= 4, got samples={self.samples}, "
                              f"tokens_per_batch={self.tokens_per_batch}, lengths={self.lengths}")


@dataclass
class SyntheticJobConfig:
    """``mambaseq synthetic``: train a MambaLM on one diagnostic task, report its accuracy at
    the answer positions, then at every ``eval.lengths``."""

    model: MambaConfig = field(default_factory=MambaConfig)
    data: SyntheticDataConfig = field(default_factory=SyntheticDataConfig)
    eval: LengthEvalConfig = field(default_factory=LengthEvalConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def __post_init__(self) -> None:
        for length in self.eval.lengths:
            try:
                check_task(self.data.task, length, self.data.vocab_size, self.data.n_data)
            except ValueError as err:
                raise ConfigError(f"eval.lengths entry {length}: {err}") from err
