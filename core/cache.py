"""The recurrent inference cache: everything a model needs to continue a batch of sequences."""
from __future__ import annotations

from dataclasses import dataclass

from .mixer import MixerState


@dataclass
class InferenceCache:
    """One ``MixerState`` per layer plus the number of tokens consumed so far.

    Its size is fixed by (batch, layers, d_inner, d_state + d_conv - 1): it does not grow with
    the sequence, which is what makes each decoding step O(1).
    """

    layers: list[MixerState]
    seqlen_offset: int = 0
