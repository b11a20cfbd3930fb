"""Model configuration: one dataclass that fully describes a Mamba backbone."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Optional


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range; the message names the field."""


@dataclass
class MambaConfig:
    """Shape and initialisation of a Mamba language model or classifier backbone.

    Defaults follow the paper (Gu & Dao 2023, section 3.4 and appendix): expand 2, state 16,
    convolution width 4, dt_rank = ceil(d_model / 16), Δ initialised log-uniformly in
    [dt_min, dt_max]. ``selective=False`` is the paper's LTI ablation (section 4.1): Δ, B and C
    become learned constants, the same at every time step. The embedding table is padded to a multiple of ``pad_vocab_multiple``.
    """

    d_model: int = 256
    n_layer: int = 4
    vocab_size: int = 16
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: Optional[int] = None        # None: ceil(d_model / 16)
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    dt_init_floor: float = 1e-4
    conv_bias: bool = True
    proj_bias: bool = False
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    pad_vocab_multiple: int = 8
    selective: bool = True               # False: the paper's LTI (S4-like) ablation, Δ/B/C constant

    def __post_init__(self) -> None:
        for name in ("d_model", "n_layer", "vocab_size", "d_state", "d_conv", "expand",
                     "pad_vocab_multiple"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"model.{name} must be a positive integer, got {value!r}")
        if self.dt_rank is not None and (not isinstance(self.dt_rank, int) or self.dt_rank < 1):
            raise ConfigError(f"model.dt_rank must be a positive integer or null, got {self.dt_rank!r}")
        if not 0 < self.dt_min <= self.dt_max:
            raise ConfigError(f"model.dt_min must satisfy 0 < dt_min <= dt_max, got "
                              f"dt_min={self.dt_min}, dt_max={self.dt_max}")
        if not 0 < self.dt_init_floor <= self.dt_min:
            raise ConfigError(f"model.dt_init_floor must be in (0, dt_min], got {self.dt_init_floor}")
        if not isinstance(self.selective, bool):
            raise ConfigError(f"model.selective must be true or false, got {self.selective!r}")
        if not self.norm_eps > 0:
            raise ConfigError(f"model.norm_eps must be > 0, got {self.norm_eps}")

    @property
    def d_inner(self) -> int:
        """Channels inside the mixer: expand * d_model."""
        return self.expand * self.d_model

    @property
    def resolved_dt_rank(self) -> int:
        """Rank of the Δ projection: dt_rank, or ceil(d_model / 16) when unset."""
        return self.dt_rank if self.dt_rank is not None else math.ceil(self.d_model / 16)

    @property
    def padded_vocab_size(self) -> int:
        """Rows of the embedding table: vocab_size rounded up to pad_vocab_multiple."""
        m = self.pad_vocab_multiple
        return (self.vocab_size + m - 1) // m * m

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (ints, floats, bools, None) for checkpoints and YAML."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "MambaConfig":
        """Inverse of ``to_dict``; an unknown key raises ``ConfigError`` naming it."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown model config key(s): {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(known))})")
        return cls(**values)
