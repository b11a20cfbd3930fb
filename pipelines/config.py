"""Job configs: OmegaConf YAML files checked against dataclass schemas, with ``key=value``
overrides from the command line. Every error names the file (or the override) and the key."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypeVar

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from core import ConfigError, MambaConfig

T = TypeVar("T")


@dataclass
class DNADataConfig:
    """DNA windows for language modelling: the tail of each record is held out."""

    fasta: str = MISSING                 # plain or gzip FASTA
    records: Optional[list[str]] = None  # None: every record
    val_fraction: float = 0.1
    seq_len: int = 1024
    train_windows_per_epoch: int = 2048
    max_val_windows: Optional[int] = None
    batch_size: int = 16
    num_workers: int = 0


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine decay to ``min_lr_ratio * lr``."""

    lr: float = 2e-3
    weight_decay: float = 0.1
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0


@dataclass
class TrainerConfig:
    """Where and how long to train; passed to Lightning's Trainer."""

    output_dir: str = "runs"
    run_name: str = "run"
    max_steps: int = 1000
    val_every_n_steps: int = 100
    checkpoint_every_n_steps: int = 100
    log_every_n_steps: int = 10
    accelerator: str = "auto"
    devices: int = 1
    precision: str = "32-true"           # "bf16-mixed" on GPUs
    seed: int = 0
    resume: bool = True                  # continue from the run folder's last.ckpt if present
    progress_bar: bool = True


@dataclass
class PretrainDNAConfig:
    """``mambaseq pretrain``: a MambaLM on DNA windows."""

    model: MambaConfig = field(default_factory=MambaConfig)
    data: DNADataConfig = field(default_factory=DNADataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


class ConfigFileError(ValueError):
    """A config file or override is unreadable, has an unknown key or a bad value."""


def _describe(err: OmegaConfBaseException) -> str:
    key = getattr(err, "full_key", None)
    msg = getattr(err, "msg", None) or str(err).splitlines()[0]
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
