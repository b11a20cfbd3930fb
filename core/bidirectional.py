"""Bidirectional (non-causal) Mamba backbone and sequence classifier, with an optional
equivariance to "reverse the sequence and map every token through an involution" (for DNA:
the reverse complement, Caduceus-style; Schiff et al. 2024, arXiv 2403.03234).

Knows nothing of DNA: the token involution is a list of ids given by the caller.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .config import ConfigError, MambaConfig
from .model import BackboneWeights
from .packed import check_packed, reverse_within
from .pooling import BIDIRECTIONAL_POOLINGS, pool


def reverse_valid(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse each row of x (batch, length, ...) along time within its first ``lengths[b]``
    positions, leaving the right padding in place (a plain flip when ``lengths`` is None).
    An involution."""
    if lengths is None:
        return x.flip(1)
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    index = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return x.gather(1, index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x))


class BidirectionalBackbone(BackboneWeights):
    """Token ids (batch, length) -> hidden states (batch, length, d_model) that see the whole
    sequence: every layer runs its mixer on the sequence and on its time reversal with the
    same weights and averages the two (BiMamba with tied weights).

    Commutes with time reversal: f(reverse(x)) = reverse(f(x)). Its parameters have the
    names of ``MambaBackbone``'s, so a causal language model's backbone weights load as is.
    """

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None,
                cu_seqlens: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids (batch, length) int64, right-padded; lengths (batch,) valid tokens per
        row (all when None) -> (batch, length, d_model). Positions < lengths[b] never see the
        padding. With ``cu_seqlens`` instead of ``lengths``, input_ids (1, length) are packed
        sequences (``core.packed``), each seen whole and alone."""
        if cu_seqlens is not None:
            check_packed(input_ids, cu_seqlens)

        def reverse(h: torch.Tensor) -> torch.Tensor:
            return reverse_valid(h, lengths) if cu_seqlens is None else reverse_within(h, cu_seqlens)

        x, residual = self.embedding(input_ids), None
        for layer in self.layers:
            normed, residual = layer.norm(x, residual)
            backward = reverse(layer.mixer(reverse(normed), cu_seqlens=cu_seqlens))
            x = 0.5 * (layer.mixer(normed, cu_seqlens=cu_seqlens) + backward)
        x, _ = self.norm_f(x, residual)
        return x


class BidirectionalClassifier(nn.Module):
    """Sequence classifier on a ``BidirectionalBackbone``: pooling over valid positions
    ("mean" or "max"), linear head -> (batch, num_classes).

    With ``token_involution`` (a permutation p of the vocabulary with p[p[i]] = i), the
    classifier is invariant to the map x -> p(reverse(x)): the backbone (shared weights) reads
    both x and p(x), and the two pooled features are averaged. Since the backbone commutes
    with time reversal, the hidden states of p(reverse(x)) are those of x with the two streams
    swapped and reversed, so the logits are equal on both strands.
    """

    def __init__(self, config: MambaConfig, num_classes: int, pooling: str = "mean",
                 token_involution: list[int] | None = None) -> None:
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"num_classes must be >= 2, got {num_classes}")
        if pooling not in BIDIRECTIONAL_POOLINGS:
            raise ConfigError(f"pooling of a bidirectional classifier must be one of "
                              f"{BIDIRECTIONAL_POOLINGS}, got {pooling!r}")
        if token_involution is not None:
            p = list(token_involution)
            if sorted(p) != list(range(config.vocab_size)) or any(p[p[i]] != i for i in range(len(p))):
                raise ConfigError(f"token_involution must be a permutation of range(vocab_size="
                                  f"{config.vocab_size}) that is its own inverse, got {p}")
            self.register_buffer("involution", torch.tensor(p, dtype=torch.int64), persistent=False)
        else:
            self.involution = None
        self.config, self.num_classes, self.pooling = config, num_classes, pooling
        self.backbone = BidirectionalBackbone(config)
        self.head = nn.Linear(config.d_model, num_classes)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None,
                cu_seqlens: torch.Tensor | None = None) -> torch.Tensor:
        """Inputs and logits as ``MambaClassifier.forward``: padded rows with their
        ``lengths``, or packed sequences with ``cu_seqlens``."""
        if cu_seqlens is not None:
            return self._forward_packed(input_ids, cu_seqlens)
        batch, length = input_ids.shape
        if lengths is None:
            lengths = torch.full((batch,), length, device=input_ids.device)
        if self.involution is None:
            return self.head(pool(self.backbone(input_ids, lengths), self.pooling, lengths))
        both = torch.cat([input_ids, self.involution[input_ids]])
        pooled = pool(self.backbone(both, lengths.repeat(2)), self.pooling, lengths.repeat(2))
        return self.head(0.5 * (pooled[:batch] + pooled[batch:]))

    def _forward_packed(self, input_ids: torch.Tensor, cu_seqlens: torch.Tensor) -> torch.Tensor:
        """Packed sequences; with the involution, the mapped copy of the row is packed after
        it (one row of twice the length), so both strands go through the backbone at once."""
        if self.involution is None:
            hidden = self.backbone(input_ids, cu_seqlens=cu_seqlens)
            return self.head(pool(hidden, self.pooling, cu_seqlens=cu_seqlens))
        n = cu_seqlens.numel() - 1
        both = torch.cat([input_ids, self.involution[input_ids]], dim=1)
        cu_both = torch.cat([cu_seqlens, cu_seqlens[1:] + input_ids.shape[1]])
        pooled = pool(self.backbone(both, cu_seqlens=cu_both), self.pooling, cu_seqlens=cu_both)
        return self.head(0.5 * (pooled[:n] + pooled[n:]))

    def model_kwargs(self) -> dict:
        """Constructor arguments beyond the config: what a checkpoint must store."""
        involution = None if self.involution is None else self.involution.tolist()
        return {"num_classes": self.num_classes, "pooling": self.pooling,
                "token_involution": involution}
