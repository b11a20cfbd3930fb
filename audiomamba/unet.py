"""A SaShiMi-style multi-scale U-Net of Mamba blocks for raw audio (Goel et al. 2022, with the
S4 + MLP blocks replaced by Mamba blocks as in Gu & Dao 2023, section 4.4).

Each level runs ``n_layer`` residual Mamba blocks on its sequence, pools groups of ``p``
consecutive positions into one (width x ``expand``), hands them to the next level (or to the
centre stack), expands the result back (``p`` positions, width / ``expand``), adds it to the
level's own output (a U-Net skip) and runs ``n_layer`` more blocks. Causality: a pooled
position sees its whole group of ``p`` inputs, so its expansion is shifted by one group —
the ``p`` outputs of group g feed positions of group g + 1. Hence the model trains in parallel
like any causal LM and decodes one sample at a time: the coarse levels run once every ``p``
(``p * p``, ...) steps, with fixed-size buffers, so the state is O(1) in the length. The
step's Python branches repeat with the product of the pools, so on CUDA ``core.generate``
replays it from that many CUDA graphs, one per phase (``decode_graph_period``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from mambaseq.core import (ConfigError, MambaConfig, MixerState, ResidualBlock, RMSNorm,
                           StepConstants, at_least_float32, register_model_class)

# Every mixer's decoding constants (``MambaMixer.step_constants``), keyed by the mixer.
UNetConstants = dict[nn.Module, StepConstants]


class MambaStack(nn.Module):
    """``config.n_layer`` pre-norm residual Mamba blocks at width ``config.d_model``:
    h (batch, length, d) -> h + the blocks' residual branches, float32 (float64 in a float64
    model, here and below)."""

    def __init__(self, config: MambaConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ResidualBlock(config) for _ in range(config.n_layer))

    def forward(self, h: torch.Tensor, states: list[MixerState] | None = None) -> torch.Tensor:
        x, residual = h, None
        for i, layer in enumerate(self.layers):
            x, residual = layer(x, residual, None if states is None else states[i])
        return residual + at_least_float32(x)

    def step(self, h: torch.Tensor, states: list[MixerState],
             constants: UNetConstants | None = None) -> torch.Tensor:
        """h (batch, d) -> (batch, d) float32; ``states`` advanced in place. ``constants``:
        the mixers' step constants, computed once per decode (else every call)."""
        x, residual = h, None
        for layer, state in zip(self.layers, states):
            const = None if constants is None else constants[layer.mixer]
            x, residual = layer.step(x, residual, state, const)
        return residual + at_least_float32(x)

    def allocate_state(self, batch_size: int, dtype: torch.dtype, device: torch.device,
                       state_dtype: torch.dtype = torch.float32) -> list[MixerState]:
        return [layer.mixer.allocate_state(batch_size, dtype, device, state_dtype)
                for layer in self.layers]


@dataclass
class LevelState:
    """What one U-Net level carries between samples (or chunks).

    down, up: the mixer states of its two stacks; inner: the next level's state or the centre
    stack's mixer states. pooled (batch, p, d) float32: the level's outputs of the current,
    incomplete group (the first ``position % p`` rows are valid). unpooled (batch, p, d)
    float32: the expansion of the last complete group, added to the current group's
    positions (zeros before the first group completes). position: samples seen at this level.
    """

    down: list[MixerState]
    up: list[MixerState]
    inner: "LevelState | list[MixerState]"
    pooled: torch.Tensor
    unpooled: torch.Tensor
    position: int = 0


class UNetLevel(nn.Module):
    """One level of the U-Net at width ``config.d_model``, pooling by ``pools[0]``; the
    inner levels pool by ``pools[1:]`` and the centre stack runs at the coarsest rate."""

    def __init__(self, config: MambaConfig, pools: list[int], expand: int) -> None:
        super().__init__()
        d, p = config.d_model, pools[0]
        inner_config = dataclasses.replace(config, d_model=d * expand)
        self.pool_factor = p
        self.down = MambaStack(config)
        self.pool = nn.Linear(p * d, d * expand)          # p positions of width d -> one
        self.inner = (UNetLevel(inner_config, pools[1:], expand) if len(pools) > 1
                      else MambaStack(inner_config))
        self.unpool = nn.Linear(d * expand, p * d)        # one position -> p of width d
        self.up = MambaStack(config)

    def _pool(self, s: torch.Tensor) -> torch.Tensor:
        """(batch, groups * p, d) -> (batch, groups, d * expand)."""
        b, length, d = s.shape
        return self.pool(s.reshape(b, length // self.pool_factor, self.pool_factor * d))

    def _unpool(self, c: torch.Tensor) -> torch.Tensor:
        """(batch, groups, d * expand) -> (batch, groups * p, d) float32."""
        b, groups, _ = c.shape
        return at_least_float32(self.unpool(c)).reshape(b, groups * self.pool_factor, -1)

    def forward(self, h: torch.Tensor, state: LevelState | None = None) -> torch.Tensor:
        """h (batch, length, d) -> (batch, length, d) float32. Without ``state`` the length
        must be a multiple of the product of the pools; with it, any length continues the
        sequence in ``state`` (prefill, chunks) and advances it."""
        p = self.pool_factor
        s = self.down(h, None if state is None else state.down)
        if state is None:
            expanded = self._unpool(self.inner(self._pool(s)))
            shifted = F.pad(expanded, (0, 0, p, 0))[:, : h.shape[1]]
            return self.up(s + shifted)
        r0, length = state.position % p, h.shape[1]
        grouped = torch.cat([state.pooled[:, :r0], s], dim=1)
        n_full = grouped.shape[1] // p
        expansions = state.unpooled
        if n_full:
            inner_out = self.inner(self._pool(grouped[:, : n_full * p]), state.inner)
            expansions = torch.cat([state.unpooled, self._unpool(inner_out)], dim=1)
        shifted = expansions[:, r0: r0 + length]
        state.unpooled = expansions[:, n_full * p: (n_full + 1) * p]
        rest = grouped[:, n_full * p:]
        state.pooled = F.pad(rest, (0, 0, 0, p - rest.shape[1]))
        state.position += length
        return self.up(s + shifted, state.up)

    def step(self, h: torch.Tensor, state: LevelState,
             constants: UNetConstants | None = None) -> torch.Tensor:
        """One position: h (batch, d) -> (batch, d) float32; ``state`` advanced in place.
        Every p-th call also advances the inner level by one position."""
        p = self.pool_factor
        r = state.position % p
        s = self.down.step(h, state.down, constants)
        out = self.up.step(s + state.unpooled[:, r], state.up, constants)
        state.pooled[:, r] = s
        if r == p - 1:
            pooled = self.pool(state.pooled.flatten(1))
            inner_out = self.inner.step(pooled, state.inner, constants)
            state.unpooled.copy_(self._unpool(inner_out[:, None]))
        state.position += 1
        return out

    def allocate_state(self, batch_size: int, dtype: torch.dtype, device: torch.device,
                       state_dtype: torch.dtype = torch.float32) -> LevelState:
        d = self.down.layers[0].mixer.config.d_model
        buffer = lambda: torch.zeros(batch_size, self.pool_factor, d, device=device)  # noqa: E731
        return LevelState(down=self.down.allocate_state(batch_size, dtype, device, state_dtype),
                          up=self.up.allocate_state(batch_size, dtype, device, state_dtype),
                          inner=self.inner.allocate_state(batch_size, dtype, device, state_dtype),
                          pooled=buffer(), unpooled=buffer())


@dataclass
class UNetCache:
    """The recurrent state of a ``SaShiMiLM``: one ``LevelState`` tree plus the number of
    samples consumed. Its size does not depend on the length."""

    top: LevelState
    seqlen_offset: int = 0


@register_model_class
class SaShiMiLM(nn.Module):
    """Causal LM over audio tokens with a multi-scale U-Net backbone.

    ``config.d_model`` is the width of the outermost level, ``config.n_layer`` the Mamba
    blocks of each stack (two per level plus the centre's); ``pool`` the pooling factors from
    the outside in (the paper: [4, 4]); ``expand`` the width factor per pooling (2).
    Embeddings are tied to the output layer when ``config.tie_embeddings``.
    """

    def __init__(self, config: MambaConfig, pool: list[int] | tuple[int, ...] = (4, 4),
                 expand: int = 2) -> None:
        super().__init__()
        pool = list(pool)
        if not pool or any(not isinstance(p, int) or isinstance(p, bool) or p < 2 for p in pool):
            raise ConfigError(f"backbone.pool must be a non-empty list of integers >= 2, got {pool!r}")
        if not isinstance(expand, int) or isinstance(expand, bool) or expand < 1:
            raise ConfigError(f"backbone.expand must be a positive integer, got {expand!r}")
        self.config, self.pool, self.expand = config, pool, expand
        self.stride = math.prod(pool)
        self.decode_graph_period = self.stride      # the step's branches repeat with it
        self.embedding = nn.Embedding(config.padded_vocab_size, config.d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)
        self.unet = UNetLevel(config, pool, expand)
        self.norm_f = RMSNorm(config.d_model, config.norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.padded_vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.embedding.weight
        else:
            nn.init.normal_(self.lm_head.weight, std=0.02)

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        normed, _ = self.norm_f(hidden)
        return self.lm_head(normed.to(self.lm_head.weight.dtype))[..., : self.config.vocab_size]

    def forward(self, input_ids: torch.Tensor, cache: UNetCache | None = None) -> torch.Tensor:
        """input_ids (batch, length) int64 -> logits (batch, length, vocab_size) float; logit
        t predicts sample t + 1. Any length (padded inside to a multiple of the pools'
        product). With ``cache``, continues the sequences in it and advances it."""
        h = self.embedding(input_ids)
        length = input_ids.shape[1]
        if cache is not None:
            out = self.unet(h, cache.top)
            cache.seqlen_offset += length
        else:
            out = self.unet(F.pad(h, (0, 0, 0, (-length) % self.stride)))[:, :length]
        return self._logits(out)

    def step_constants(self) -> UNetConstants:
        """Every mixer's float32 decoding constants (``MambaMixer.step_constants``), for
        ``step``: valid while the weights do not change."""
        return {block.mixer: block.mixer.step_constants() for block in self.modules()
                if isinstance(block, ResidualBlock)}

    def step(self, input_ids: torch.Tensor, cache: UNetCache,
             constants: UNetConstants | None = None) -> torch.Tensor:
        """input_ids (batch,) -> logits (batch, vocab_size) for the next sample; ``cache``
        advanced in place. Branches on the position (the coarse levels run every p-th call):
        a CUDA graph of it holds one phase, and ``decode_graph_period`` graphs replay it.
        ``constants``: ``step_constants()`` computed once per decode (else every call)."""
        out = self.unet.step(self.embedding(input_ids), cache.top, constants)
        cache.seqlen_offset += 1
        return self._logits(out)

    def allocate_cache(self, batch_size: int, dtype: torch.dtype | None = None,
                       device: torch.device | None = None,
                       state_dtype: torch.dtype = torch.float32) -> UNetCache:
        """A zero cache for ``batch_size`` sequences (dtype/device default to the weights');
        ``state_dtype``: every mixer's scan state (``MambaMixer.allocate_state``)."""
        weight = self.embedding.weight
        return UNetCache(self.unet.allocate_state(batch_size, dtype or weight.dtype,
                                                  device or weight.device, state_dtype))

    def no_weight_decay(self) -> list[nn.Parameter]:
        """Norm weights, A_log, D and biases: parameters that weight decay must leave alone."""
        params = [m.weight for m in self.modules() if isinstance(m, RMSNorm)]
        for module in self.modules():
            if isinstance(module, ResidualBlock):
                params += module.mixer.no_weight_decay()
            elif isinstance(module, UNetLevel):
                params += [module.pool.bias, module.unpool.bias]
        return params

    def model_kwargs(self) -> dict:
        """Constructor arguments beyond the config: what a checkpoint must store."""
        return {"pool": list(self.pool), "expand": self.expand}
