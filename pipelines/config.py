"""Job configs: OmegaConf YAML files checked against dataclass schemas, with ``key=value``
overrides from the command line. Every error names the file (or the override) and the key.

Data the package ships is named ``${package:biomamba/data/...}`` (or ``audiomamba/...``) in
a config, so shipped configs work from any working directory; other paths are taken as given
(relative to the working directory)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Optional, TypeVar

from lightning.pytorch.strategies import StrategyRegistry
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mambaseq.core import ConfigError

T = TypeVar("T")

DATA_PACKAGES = ("biomamba", "audiomamba")     # the rooms whose data/ folder is installed


def package_path(spec: str) -> str:
    """``${package:biomamba/data/x.fa}`` -> the absolute path of that file inside the
    installed ``biomamba`` package (likewise ``audiomamba``)."""
    package, _, rest = spec.partition("/")
    if package not in DATA_PACKAGES:
        raise ValueError(f"${{package:{spec}}}: the path must start with one of "
                         f"{', '.join(DATA_PACKAGES)}")
    return str(Path(str(files(f"mambaseq.{package}"))) / rest)


if not OmegaConf.has_resolver("package"):
    OmegaConf.register_resolver("package", package_path)


@dataclass
class SeqLenWarmupConfig:
    """Sequence-length warm-up (Mamba paper, section 4.3): training starts on windows of
    ``start_len`` bases and doubles the length every ``steps_per_stage`` steps until
    ``data.seq_len``, halving the batch at each doubling so that every step holds
    ``batch_size * seq_len`` tokens."""

    start_len: int = MISSING
    steps_per_stage: int = MISSING


@dataclass
class LoaderConfig:
    """How a data module feeds the optimiser, shared by every job's ``data`` block:
    ``batch_size`` items per optimiser step over all processes, ``num_workers`` loader
    worker processes (0: load in the training process)."""

    batch_size: int = 16
    num_workers: int = 0

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"data.batch_size must be >= 1, got {self.batch_size}")
        if self.num_workers < 0:
            raise ConfigError(f"data.num_workers must be >= 0, got {self.num_workers}")


@dataclass
class VariableLengthConfig(LoaderConfig):
    """Windows (DNA) or crops (audio) of ``seq_len`` tokens, the block shared by the data
    configs that train on them. With ``min_seq_len`` set, every training window is cut to a
    length drawn uniformly in [min_seq_len, seq_len] and each step's batch is filled up to
    ``max_tokens`` tokens (default: batch_size full windows), then packed back to back into
    one row (``pack``, no padding) or padded to its longest (``data.variable_length``)."""

    seq_len: int = 1024
    min_seq_len: Optional[int] = None
    pack: bool = True
    max_tokens: Optional[int] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.seq_len < 1:
            raise ConfigError(f"data.seq_len must be >= 1, got {self.seq_len}")
        if self.min_seq_len is None:
            return
        if not 1 <= self.min_seq_len <= self.seq_len:
            raise ConfigError(f"data.min_seq_len must be in [1, data.seq_len={self.seq_len}], "
                              f"got {self.min_seq_len}")
        if self.max_tokens is not None and self.max_tokens < self.seq_len + 1:
            raise ConfigError(f"data.max_tokens must hold one window of data.seq_len + 1 = "
                              f"{self.seq_len + 1} tokens, got {self.max_tokens}")


@dataclass
class WarmupWindowsConfig(VariableLengthConfig):
    """``VariableLengthConfig`` plus an optional sequence-length warm-up, the block of the DNA
    data configs (pretraining and classification): ``seq_len_warmup.start_len`` must be
    ``seq_len`` divided by a power of 2, and warm-up excludes variable lengths."""

    seq_len_warmup: Optional[SeqLenWarmupConfig] = None   # None: seq_len from the first step

    def __post_init__(self) -> None:
        super().__post_init__()
        warmup = self.seq_len_warmup
        if warmup is None:
            return
        if self.min_seq_len is not None:
            raise ConfigError("data.seq_len_warmup and data.min_seq_len cannot be combined: "
                              "variable-length windows already mix short and long ones")
        ratio = self.seq_len // warmup.start_len if warmup.start_len >= 1 else 0
        if not (1 <= warmup.start_len < self.seq_len and ratio * warmup.start_len == self.seq_len
                and ratio & (ratio - 1) == 0):
            raise ConfigError(f"data.seq_len_warmup.start_len must be data.seq_len "
                              f"({self.seq_len}) divided by a power of 2 (2, 4, ...), got "
                              f"{warmup.start_len}")
        if warmup.steps_per_stage < 1:
            raise ConfigError(f"data.seq_len_warmup.steps_per_stage must be >= 1, got "
                              f"{warmup.steps_per_stage}")


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine decay to ``min_lr_ratio * lr``."""

    lr: float = 2e-3
    weight_decay: float = 0.1
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if not self.lr >= 0:
            raise ConfigError(f"optim.lr must be >= 0 (0: weights stay as they start), got "
                              f"{self.lr}")
        if self.weight_decay < 0:
            raise ConfigError(f"optim.weight_decay must be >= 0, got {self.weight_decay}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"optim.betas must be two numbers in [0, 1), got {list(self.betas)}")
        if self.warmup_steps < 0:
            raise ConfigError(f"optim.warmup_steps must be >= 0, got {self.warmup_steps}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"optim.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.grad_clip < 0:
            raise ConfigError(f"optim.grad_clip must be >= 0 (0: no clipping), got "
                              f"{self.grad_clip}")


IN_PROCESS_LAUNCHERS = ("spawn", "fork", "notebook")   # Lightning strategies that start workers


@dataclass
class TrainerConfig:
    """Where and how long to train; passed to Lightning's Trainer."""

    output_dir: str = "runs"
    run_name: str = "run"
    max_steps: int = 1000
    max_minutes: Optional[float] = None  # also stop after this much training (resumed parts add up)
    val_every_n_steps: int = 100
    checkpoint_every_n_steps: int = 100
    log_every_n_steps: int = 10
    accelerator: str = "auto"
    devices: int = 1                     # processes (GPUs) per node
    num_nodes: int = 1
    strategy: str = "auto"               # Lightning strategy: auto, ddp, fsdp, deepspeed, ...
    precision: str = "32-true"           # "bf16-mixed" on GPUs
    activation_checkpointing: bool = False   # recompute each block's mixer in backward
    recompute_mixer_core: bool = True    # false: keep the conv/scan intermediates (faster, ~4x memory)
    stop_on_nonfinite: bool = True       # stop at a NaN/Inf loss or gradient, naming where
    seed: int = 0
    resume: bool = True                  # continue from the run folder's last.ckpt if present
    progress_bar: bool = True

    def __post_init__(self) -> None:
        for name in ("devices", "num_nodes", "max_steps", "val_every_n_steps",
                     "checkpoint_every_n_steps", "log_every_n_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"trainer.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ConfigError(f"trainer.max_minutes must be positive (or null: no time limit), "
                              f"got {self.max_minutes}")
        known = ["auto", *(s for s in StrategyRegistry.available_strategies()
                           if not any(k in s for k in IN_PROCESS_LAUNCHERS))]
        if any(k in self.strategy for k in IN_PROCESS_LAUNCHERS):
            raise ConfigError(f"trainer.strategy {self.strategy!r} runs training in child "
                              f"processes whose step count, metrics and logs do not come back "
                              f"to the job; use 'ddp' (the job starts its other processes "
                              f"itself) or launch with torchrun")
        if self.strategy not in known:
            raise ConfigError(f"trainer.strategy must be one of {', '.join(known)}; got "
                              f"{self.strategy!r}")


@dataclass
class TrainingJobConfig:
    """The sections every training job's schema has; each job's dataclass extends it with its
    own (``model``, ``data``, ...)."""

    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def check_fraction(name: str, value: float, upper_closed: bool = False) -> None:
    """Raise ``ConfigError`` unless ``value`` (config key ``name``) is in [0, 1) (or [0, 1]
    with ``upper_closed``)."""
    if not (0 <= value <= 1 if upper_closed else 0 <= value < 1):
        raise ConfigError(f"{name} must be in [0, 1{']' if upper_closed else ')'}, got {value}")


class ConfigFileError(ValueError):
    """A config file or override is unreadable, has an unknown key or a bad value (including
    a value the data cannot serve, such as windows longer than every record)."""


class UsageError(ValueError):
    """A job's command-line arguments are missing, contradictory or out of range."""


def _describe(err: OmegaConfBaseException) -> str:
    key = getattr(err, "full_key", None)
    msg = (getattr(err, "msg", None) or str(err)).strip().splitlines()[0]
    return f"key '{key}': {msg}" if key else msg


def load_config(schema: type[T], path: str | Path, overrides: list[str] | None = None
                ) -> tuple[T, DictConfig]:
    """Merge ``schema``'s defaults, the YAML file and the ``key=value`` overrides.

    Returns (the typed dataclass object, the resolved DictConfig to save beside the run).
    Raises ``ConfigFileError`` naming the file or override and the key for unknown keys,
    wrong types, missing required values and out-of-range values.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"{path}: no such config file")
    merged = OmegaConf.structured(schema)
    try:
        merged = OmegaConf.merge(merged, OmegaConf.load(path))
    except OmegaConfBaseException as err:
        raise ConfigFileError(f"{path}: {_describe(err)}") from err
    except Exception as err:  # YAML syntax errors
        raise ConfigFileError(f"{path}: cannot parse YAML: {err}") from err
    for item in overrides or []:
        if "=" not in item:
            raise ConfigFileError(f"override {item!r}: expected key=value")
        try:
            merged = OmegaConf.merge(merged, OmegaConf.from_dotlist([item]))
        except OmegaConfBaseException as err:
            raise ConfigFileError(f"override {item!r}: {_describe(err)}") from err
    missing = sorted(OmegaConf.missing_keys(merged))
    if missing:
        raise ConfigFileError(f"{path}: required key(s) not set: {', '.join(missing)}")
    try:
        typed = OmegaConf.to_object(merged)
    except ConfigError as err:
        raise ConfigFileError(f"{path}: {err}") from err
    except OmegaConfBaseException as err:
        raise ConfigFileError(f"{path}: {_describe(err)}") from err
    return typed, merged


def to_plain(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain Python (for checkpoints and hyper-parameters)."""
    return OmegaConf.to_container(cfg, resolve=True)


def add_config_arguments(parser: argparse.ArgumentParser, example: str, overrides: str) -> None:
    """The arguments of every config-driven job: the YAML file (``example``: a shipped one)
    and ``key=value`` overrides (``overrides``: an example of them)."""
    parser.add_argument("config", help=f"YAML job config, e.g. {example}")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help=f"config overrides, e.g. {overrides}")
