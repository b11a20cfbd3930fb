"""Mamba models: pre-norm residual blocks around the mixer, the backbone, and two heads
(language model with tied embeddings, sequence classifier)."""
from __future__ import annotations

import torch
import torch.nn as nn

from mambaseq.kernels import add_rms_norm

from .cache import InferenceCache
from .config import ConfigError, MambaConfig
from .mixer import MambaMixer, MixerState, StepConstants
from .packed import check_packed
from .pooling import POOLINGS, pool


class RMSNorm(nn.Module):
    """RMSNorm with an optional residual add fused in front (see ``kernels.add_rms_norm``)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (normalised x + residual in x's dtype, x + residual in float32)."""
        return add_rms_norm(x, residual, self.weight, self.eps)


class ResidualBlock(nn.Module):
    """residual <- residual + x (float32); x <- mixer(RMSNorm(residual)).

    The add of block i is done at the entry of block i+1 (and by the final norm), so the add
    and the norm can run as one fused kernel, and the residual stream stays float32 under
    bf16 autocast.
    """

    def __init__(self, config: MambaConfig) -> None:
        super().__init__()
        self.norm = RMSNorm(config.d_model, config.norm_eps)
        self.mixer = MambaMixer(config)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None, state=None,
                cu_seqlens: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        normed, residual = self.norm(x, residual)
        return self.mixer(normed, state, cu_seqlens), residual

    def step(self, x: torch.Tensor, residual: torch.Tensor | None, state: MixerState,
             constants: StepConstants | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One token through the block: (x, residual) (batch, d_model) -> the same pair."""
        normed, residual = self.norm(x, residual)
        return self.mixer.step(normed, state, constants), residual


class BackboneWeights(nn.Module):
    """The parameters every Mamba backbone has: token embedding, ``n_layer`` residual blocks,
    final RMSNorm. Subclasses say how tokens flow through them (causal, bidirectional), and
    share parameter names, so weights move between them."""

    def __init__(self, config: MambaConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.padded_vocab_size, config.d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)
        self.layers = nn.ModuleList(ResidualBlock(config) for _ in range(config.n_layer))
        self.norm_f = RMSNorm(config.d_model, config.norm_eps)

    def no_weight_decay(self) -> list[nn.Parameter]:
        """Norm weights, A_log, D and biases: parameters that weight decay must leave alone."""
        params = [self.norm_f.weight]
        for layer in self.layers:
            params += [layer.norm.weight] + layer.mixer.no_weight_decay()
        return params


class MambaBackbone(BackboneWeights):
    """Token ids (batch, length) -> final hidden states (batch, length, d_model), causally."""

    def forward(self, input_ids: torch.Tensor, cache: InferenceCache | None = None,
                cu_seqlens: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids (batch, length) int64 -> (batch, length, d_model) in the embedding's
        dtype (autocast's under autocast). With ``cache``, continues from it and advances it.
        With ``cu_seqlens``, input_ids (1, length) holds several sequences back to back
        (``core.packed``), each processed as if alone."""
        if cu_seqlens is not None:
            check_packed(input_ids, cu_seqlens)
        x, residual = self.embedding(input_ids), None
        for i, layer in enumerate(self.layers):
            x, residual = layer(x, residual, None if cache is None else cache.layers[i],
                                cu_seqlens)
        x, _ = self.norm_f(x, residual)
        if cache is not None:
            cache.seqlen_offset += input_ids.shape[1]
        return x

    def step_constants(self) -> list[StepConstants]:
        """Every layer's ``MambaMixer.step_constants()``, for ``step``."""
        return [layer.mixer.step_constants() for layer in self.layers]

    def step(self, input_ids: torch.Tensor, cache: InferenceCache,
             constants: list[StepConstants] | None = None) -> torch.Tensor:
        """input_ids (batch,) -> (batch, d_model): one token for each sequence of the batch;
        ``constants``: ``step_constants()`` computed once by a decoder."""
        x, residual = self.embedding(input_ids), None
        constants = constants or [None] * len(self.layers)
        for layer, state, const in zip(self.layers, cache.layers, constants):
            x, residual = layer.step(x, residual, state, const)
        x, _ = self.norm_f(x, residual)
        cache.seqlen_offset += 1
        return x

    def allocate_cache(self, batch_size: int, dtype: torch.dtype | None = None,
                       device: torch.device | None = None,
                       state_dtype: torch.dtype = torch.float32) -> InferenceCache:
        """A zero cache for ``batch_size`` sequences (dtype/device default to the weights');
        ``state_dtype``: the scan states' (``MambaMixer.allocate_state``)."""
        weight = self.embedding.weight
        return InferenceCache([layer.mixer.allocate_state(batch_size, dtype or weight.dtype,
                                                          device or weight.device, state_dtype)
                               for layer in self.layers])

class MambaLM(nn.Module):
    """Causal language model: next-token logits over ``config.vocab_size`` tokens.

    The output projection shares its weight with the embedding when ``tie_embeddings``.
    """

    def __init__(self, config: MambaConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = MambaBackbone(config)
        self.lm_head = nn.Linear(config.d_model, config.padded_vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.backbone.embedding.weight
        else:
            nn.init.normal_(self.lm_head.weight, std=0.02)

    def forward(self, input_ids: torch.Tensor, cache: InferenceCache | None = None,
                cu_seqlens: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids (batch, length) -> logits (batch, length, vocab_size); logit t predicts
        token t + 1. With ``cache``, continues the sequences in it and advances it. With
        ``cu_seqlens``, input_ids (1, length) are packed sequences (``core.packed``)."""
        hidden = self.backbone(input_ids, cache, cu_seqlens)
        return self.lm_head(hidden)[..., : self.config.vocab_size]

    def step_constants(self) -> list[StepConstants]:
        """Per-layer float32 constants of a decoding step (``MambaMixer.step_constants``)."""
        return self.backbone.step_constants()

    def step(self, input_ids: torch.Tensor, cache: InferenceCache,
             constants: list[StepConstants] | None = None) -> torch.Tensor:
        """input_ids (batch,) -> logits (batch, vocab_size) for the next token; O(1) per call.
        ``constants``: ``step_constants()``, computed once per decode (valid while the weights
        do not change)."""
        hidden = self.backbone.step(input_ids, cache, constants)
        return self.lm_head(hidden)[..., : self.config.vocab_size]

    def allocate_cache(self, batch_size: int, dtype: torch.dtype | None = None,
                       device: torch.device | None = None,
                       state_dtype: torch.dtype = torch.float32) -> InferenceCache:
        """A zero inference cache for ``batch_size`` sequences; ``state_dtype``: the scan
        states' (float32, or bfloat16: half the memory and traffic a step)."""
        return self.backbone.allocate_cache(batch_size, dtype, device, state_dtype)

    def model_kwargs(self) -> dict:
        """Constructor arguments beyond the config (none): what a checkpoint must store."""
        return {}


class MambaClassifier(nn.Module):
    """Sequence classifier: backbone, pooling over time, linear head -> (batch, num_classes).

    ``pooling``: "mean" (average over valid positions), "last" (the last valid position,
    which has seen the whole sequence causally) or "max".
    """

    def __init__(self, config: MambaConfig, num_classes: int, pooling: str = "mean") -> None:
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"num_classes must be >= 2, got {num_classes}")
        if pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.config, self.num_classes, self.pooling = config, num_classes, pooling
        self.backbone = MambaBackbone(config)
        self.head = nn.Linear(config.d_model, num_classes)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None,
                cu_seqlens: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids (batch, length), right-padded; lengths (batch,) valid tokens per row
        (all when None) -> logits (batch, num_classes). With ``cu_seqlens`` instead of
        ``lengths``: input_ids (1, length) are packed sequences -> (n_seqs, num_classes)."""
        hidden = self.backbone(input_ids, cu_seqlens=cu_seqlens)
        return self.head(pool(hidden, self.pooling, lengths, cu_seqlens))

    def model_kwargs(self) -> dict:
        """Constructor arguments beyond the config: what a checkpoint must store."""
        return {"num_classes": self.num_classes, "pooling": self.pooling}
