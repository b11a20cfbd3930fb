"""Waveform <-> token ids: 8-bit mu-law (the paper's audio tokens) and linear quantisation.

Waveforms are float32 in [-1, 1]; ids are int64 in [0, levels). Both codecs map silence
(0.0) to ``silence_id`` = levels // 2, the token that starts an unconditional clip.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .stack import audio_module

CODEC_KINDS = ("mulaw", "linear")


@dataclass(frozen=True)
class Codec:
    """``kind`` "mulaw" (torchaudio's mu-law companding, mu = levels - 1) or "linear" (uniform
    steps of 2 / (levels - 1)), with ``levels`` = 2 ** bits tokens."""

    kind: str = "mulaw"
    bits: int = 8

    def __post_init__(self) -> None:
        if self.kind not in CODEC_KINDS:
            raise ValueError(f"codec must be one of {CODEC_KINDS}, got {self.kind!r}")
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 16:
            raise ValueError(f"codec bits must be an integer in [1, 16], got {self.bits!r}")

    @property
    def levels(self) -> int:
        """Number of token ids (the language model's vocabulary)."""
        return 2 ** self.bits

    @property
    def silence_id(self) -> int:
        """The id of a zero sample."""
        return int(self.encode(torch.zeros(1))[0])

    @property
    def name(self) -> str:
        """Tokenizer name stored in model files, e.g. "audio-mulaw-256"."""
        return f"audio-{self.kind}-{self.levels}"

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """wave (...) float in [-1, 1] (clipped) -> ids (...) int64 in [0, levels)."""
        wave = wave.float().clamp(-1.0, 1.0)
        if self.kind == "mulaw":
            functional = audio_module("torchaudio.functional")
            return functional.mu_law_encoding(wave, self.levels).clamp(0, self.levels - 1)
        return torch.round((wave + 1) / 2 * (self.levels - 1)).long()

    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (...) int in [0, levels) -> wave (...) float32 in [-1, 1]."""
        if ids.dtype.is_floating_point or ids.min() < 0 or ids.max() >= self.levels:
            raise ValueError(f"{self.name}: ids must be integers in [0, {self.levels})")
        if self.kind == "mulaw":
            return audio_module("torchaudio.functional").mu_law_decoding(ids.long(), self.levels).float()
        return ids.float() / (self.levels - 1) * 2 - 1


def codec_from_name(name: str) -> Codec:
    """Inverse of ``Codec.name``: "audio-mulaw-256" -> Codec("mulaw", 8)."""
    parts = name.split("-")
    if len(parts) != 3 or parts[0] != "audio" or not parts[2].isdigit():
        raise ValueError(f"not an audio tokenizer name: {name!r} (expected e.g. 'audio-mulaw-256')")
    levels = int(parts[2])
    bits = levels.bit_length() - 1
    if 2 ** bits != levels:
        raise ValueError(f"{name!r}: the number of levels must be a power of two")
    return Codec(parts[1], bits)
