"""Job configs: OmegaConf YAML files checked against dataclass schemas, with ``key=value``
overrides from the command line. Every error names the file (or the override) and the key.

Data the package ships is named ``${package:biomamba/data/...}`` (or ``audiomamba/...``) in
a config, so shipped configs work from any working directory; other paths are taken as given
(relative to the working directory)."""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Optional, TypeVar

from lightning.pytorch.strategies import StrategyRegistry
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mambaseq.core import ConfigError, MambaConfig

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
class DNADataConfig:
    """DNA windows for language modelling. The validation set is, in order of precedence: the
    BED intervals of split ``val_split`` (HG38 recipe), the records named in ``val_records``,
    or the last ``val_fraction`` of every record."""

    fasta: str = MISSING                 # plain, BGZF or gzip FASTA
    bed: Optional[str] = None            # BED: chrom, start, end, split (sequences_human.bed)
    train_split: str = "train"           # BED split names
    val_split: str = "valid"
    records: Optional[list[str]] = None  # without BED: records to use (None: every record)
    val_records: Optional[list[str]] = None  # without BED: records held out whole
    val_fraction: float = 0.1
    seq_len: int = 1024
    train_windows_per_epoch: int = 2048
    max_val_windows: Optional[int] = None
    rc_augment: bool = False             # reverse-complement half the training windows
    max_n_fraction: float = 0.5          # windows with more N than this are skipped
    batch_size: int = 16                 # windows per optimizer step, over all processes
    num_workers: int = 0
    seq_len_warmup: Optional[SeqLenWarmupConfig] = None   # None: seq_len from the first step
    # variable-length training windows: see check_variable_length
    min_seq_len: Optional[int] = None
    pack: bool = True
    max_tokens: Optional[int] = None

    def __post_init__(self) -> None:
        check_variable_length(self)
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


def check_variable_length(cfg: Any) -> None:
    """Variable-length training windows, shared by the DNA and audio data configs: with
    ``min_seq_len`` set, every training window is cut to a length drawn uniformly in
    [min_seq_len, seq_len] and each step's batch is filled up to ``max_tokens`` tokens
    (default: batch_size full windows), then packed back to back into one row (``pack``, no
    padding) or padded to its longest. Raises ConfigError naming the key."""
    if cfg.min_seq_len is None:
        return
    if not 1 <= cfg.min_seq_len <= cfg.seq_len:
        raise ConfigError(f"data.min_seq_len must be in [1, data.seq_len={cfg.seq_len}], "
                          f"got {cfg.min_seq_len}")
    if cfg.max_tokens is not None and cfg.max_tokens < cfg.seq_len + 1:
        raise ConfigError(f"data.max_tokens must hold one window of data.seq_len + 1 = "
                          f"{cfg.seq_len + 1} tokens, got {cfg.max_tokens}")


@dataclass
class SpeciesDataConfig:
    """Species classification windows: one FASTA per species in ``train_dir`` (and ``val_dir``),
    the file name being the label. Without ``val_dir`` the last ``val_fraction`` of every
    training record is the validation set."""

    train_dir: str = MISSING
    val_dir: Optional[str] = None
    val_fraction: float = 0.1
    seq_len: int = 1024                  # window length L in bases
    train_windows_per_epoch: int = 4096  # species drawn equally often
    val_windows_per_species: int = 64    # fixed: drawn once with val_seed
    val_seed: int = 1234
    rc_augment: bool = False
    max_n_fraction: float = 0.5
    batch_size: int = 16                 # windows per optimizer step, over all processes
    num_workers: int = 0
    # variable-length training windows: see check_variable_length
    min_seq_len: Optional[int] = None
    pack: bool = True
    max_tokens: Optional[int] = None

    def __post_init__(self) -> None:
        check_variable_length(self)


CLASSIFIER_ARCHITECTURES = ("causal", "bidirectional", "rc_equivariant")


@dataclass
class ClassifierConfig:
    """The classification model around the backbone: ``architecture`` "causal" (MambaClassifier),
    "bidirectional" (BidirectionalClassifier) or "rc_equivariant" (bidirectional, and the same
    prediction on both strands); ``pretrained``: a language model (model.pt or .ckpt of
    ``mambaseq pretrain``) whose backbone weights, and model shape, start the classifier."""

    architecture: str = "causal"
    pooling: str = "mean"                # mean | max (| last, causal only)
    pretrained: Optional[str] = None

    def __post_init__(self) -> None:
        if self.architecture not in CLASSIFIER_ARCHITECTURES:
            raise ConfigError(f"classifier.architecture must be one of {CLASSIFIER_ARCHITECTURES}, "
                              f"got {self.architecture!r}")
        allowed = ("mean", "last", "max") if self.architecture == "causal" else ("mean", "max")
        if self.pooling not in allowed:
            raise ConfigError(f"classifier.pooling must be one of {allowed} for architecture "
                              f"{self.architecture!r}, got {self.pooling!r}")


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine decay to ``min_lr_ratio * lr``."""

    lr: float = 2e-3
    weight_decay: float = 0.1
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0


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
    stop_on_nonfinite: bool = True       # stop at a NaN/Inf loss or gradient, naming where
    seed: int = 0
    resume: bool = True                  # continue from the run folder's last.ckpt if present
    progress_bar: bool = True

    def __post_init__(self) -> None:
        for name in ("devices", "num_nodes"):
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
class PretrainDNAConfig:
    """``mambaseq pretrain``: a MambaLM on DNA windows."""

    model: MambaConfig = field(default_factory=MambaConfig)
    data: DNADataConfig = field(default_factory=DNADataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


@dataclass
class FinetuneDNAConfig:
    """``mambaseq finetune``: a DNA sequence classifier on species windows, from scratch or
    from a pretrained language model."""

    model: MambaConfig = field(default_factory=MambaConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    data: SpeciesDataConfig = field(default_factory=SpeciesDataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


class ConfigFileError(ValueError):
    """A config file or override is unreadable, has an unknown key or a bad value (including
    a value the data cannot serve, such as windows longer than every record)."""


class UsageError(ValueError):
    """A job's command-line arguments are missing, contradictory or out of range."""


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
