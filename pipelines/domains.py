"""The token domains a language-model job can run on, chosen by a config's top-level
``domain`` key (default "dna"): each names its config schema, DataModule, backbone, the
tokenizer stored in model files, and the unit its bits are counted in."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Optional

import lightning as L
import torch.nn as nn
from omegaconf import OmegaConf

from mambaseq.audiomamba import Codec, check_audio_stack
from mambaseq.biomamba import DNATokenizer
from mambaseq.core import ConfigError, MambaConfig, ModelFileError

from .config import ConfigFileError, TrainingJobConfig
from .data.audio_tokens import AudioDataConfig, AudioTokensDataModule
from .data.dna_windows import DNADataConfig, DNAWindowsDataModule


@dataclass
class PretrainModelConfig(MambaConfig):
    """The ``model`` section of pretraining: the model's shape, plus ``init_from``: a model
    whose weights start the run (model.pt, a training .ckpt, or a Hugging Face / mamba_ssm
    model directory); its config must match this one's shape (the job names the keys that
    differ). Null: a fresh initialisation."""

    init_from: Optional[str] = None

    def model_config(self) -> MambaConfig:
        """The model's own config, without ``init_from``."""
        return MambaConfig(**{f.name: getattr(self, f.name) for f in fields(MambaConfig)})


@dataclass
class PretrainDNAConfig(TrainingJobConfig):
    """``mambaseq pretrain``: a MambaLM on DNA windows."""

    model: PretrainModelConfig = field(default_factory=PretrainModelConfig)
    data: DNADataConfig = field(default_factory=DNADataConfig)


BACKBONE_KINDS = ("mamba", "sashimi")


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
class PretrainAudioConfig(TrainingJobConfig):
    """``mambaseq pretrain`` with ``domain: audio``: a language model over audio tokens."""

    domain: str = "audio"
    model: PretrainModelConfig = field(default_factory=lambda: PretrainModelConfig(vocab_size=256))
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    data: AudioDataConfig = field(default_factory=AudioDataConfig)

    def __post_init__(self) -> None:
        if self.data.min_seq_len is not None and self.data.pack and self.backbone.kind != "mamba":
            raise ConfigError("data.pack: packed sequences need backbone.kind: mamba (the U-Net's "
                              "pooling would mix neighbouring sequences); set data.pack=false")


DEFAULT_DOMAIN = "dna"


@dataclass
class PretrainDNAJob(PretrainDNAConfig):
    """The DNA pretraining schema plus the ``domain`` key that selected it."""

    domain: str = "dna"


@dataclass(frozen=True)
class Domain:
    """How one token domain plugs into the generic language-model jobs."""

    name: str
    schema: type                                   # the job config dataclass
    unit: str                                      # what one token is: "base", "sample"
    make_data: Callable[[Any, int], L.LightningDataModule]   # (typed config, seed)
    tokenizer: Callable[[Any], str]                # typed config -> tokenizer name
    vocab_size: Callable[[Any], int]               # typed config -> tokens the data uses
    backbone: Callable[[Any], dict[str, Any] | None]         # typed config -> build_lm's backbone
    uniform_note: Callable[[Any], str]             # the bits of a uniform guess, for messages


DOMAINS = {
    "dna": Domain(
        name="dna", schema=PretrainDNAJob, unit="base",
        make_data=lambda cfg, seed: DNAWindowsDataModule(cfg.data, seed=seed),
        tokenizer=lambda cfg: "dna-char",
        vocab_size=lambda cfg: DNATokenizer().vocab_size,
        backbone=lambda cfg: None,
        uniform_note=lambda cfg: "uniform over ACGT = 2 bits"),
    "audio": Domain(
        name="audio", schema=PretrainAudioConfig, unit="sample",
        make_data=lambda cfg, seed: AudioTokensDataModule(cfg.data, seed=seed),
        tokenizer=lambda cfg: Codec(cfg.data.codec, cfg.data.bits).name,
        vocab_size=lambda cfg: 2 ** cfg.data.bits,
        backbone=lambda cfg: asdict(cfg.backbone),
        uniform_note=lambda cfg: f"uniform over {2 ** cfg.data.bits} levels = {cfg.data.bits} bits"),
}


def config_domain(path: str | Path, overrides: list[str] | None = None) -> Domain:
    """The domain a job config asks for: a ``domain=...`` override, else the file's top-level
    ``domain`` key, else "dna". Unknown names raise ``ConfigFileError`` naming the file."""
    name, source = None, str(path)
    for item in overrides or []:
        if item.startswith("domain="):
            name, source = item.split("=", 1)[1], f"override {item!r}"
    if name is None and Path(path).is_file():
        try:
            raw = OmegaConf.load(path)
        except Exception as err:
            raise ConfigFileError(f"{path}: cannot parse YAML: {err}") from err
        name = raw.get("domain", DEFAULT_DOMAIN) if OmegaConf.is_dict(raw) else DEFAULT_DOMAIN
    name = name or DEFAULT_DOMAIN
    if name not in DOMAINS:
        raise ConfigFileError(f"{source}: key 'domain': must be one of {', '.join(DOMAINS)}, got {name!r}")
    if name == "audio":
        check_audio_stack()
    return DOMAINS[name]


def model_domain(extra: dict[str, Any]) -> tuple[Domain, str]:
    """(domain, tokenizer name) of a loaded model from its metadata: ``domain`` and
    ``tokenizer`` of a model.pt, or the ``run_config`` of a training checkpoint."""
    run_config = extra.get("run_config") or {}
    name = extra.get("domain") or run_config.get("domain", DEFAULT_DOMAIN)
    if name not in DOMAINS:
        raise ConfigFileError(f"model metadata: unknown domain {name!r}")
    if name == "audio":
        check_audio_stack()
    tokenizer = extra.get("tokenizer")
    if tokenizer is None:
        data = run_config.get("data", {})
        tokenizer = ("dna-char" if name == "dna"
                     else Codec(data.get("codec", "mulaw"), data.get("bits", 8)).name)
    return DOMAINS[name], tokenizer


def check_dna_vocab(model: nn.Module, source: str) -> None:
    """Raise ``ModelFileError`` unless ``model`` (from ``source``) predicts over the DNA
    tokenizer's vocabulary: a model from another project (a Hugging Face directory, say)
    comes with its own tokenizer, which mambaseq does not read."""
    vocab, dna = model.config.vocab_size, DNATokenizer().vocab_size
    if vocab != dna:
        raise ModelFileError(f"{source}: a model of {vocab} tokens; mambaseq's DNA tokenizer "
                             f"(dna-char) has {dna}, so this is not a DNA model of this project")
