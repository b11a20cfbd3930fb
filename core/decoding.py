"""The decoding fast path: prefill by the parallel scan, then one captured step per token.

- ``prefill`` reads a prompt with the model's parallel forward (chunked, so memory stays
  bounded for long prompts and large batches) and leaves the recurrent state in the cache.
- ``decode_step`` picks the step function: for ``MambaLM`` a step that reuses float32 copies
  of the per-layer constants (A = -exp(A_log), D, the Δ projection) computed once, instead of
  recasting them every token; any other model's own ``step``.
- ``StepRunner`` advances a batch by one token. On CUDA, after a few eager steps, it
  captures the whole model step in a CUDA graph and replays it (one launch per token);
  elsewhere, or when capture fails, it calls the step eagerly. It is built after the
  prefill, because the forward may rebind the cache's tensors while the step updates them
  in place: the graph must see the tensors the step will keep updating.

Works for any model with ``forward(ids, cache) -> logits``, ``step(ids, cache) -> logits``
and ``allocate_cache(batch_size)``, whose cache is a tree (dataclasses, lists, tuples, dicts)
of tensors that ``step`` updates in place. Other models are graphed only when they declare
``decode_graph_period`` (see ``graph_period``). A graph cannot replay Python-side counters:
a ``seqlen_offset`` attribute of the cache is advanced by the runner itself.
"""
from __future__ import annotations

import copy
import dataclasses
import warnings
from typing import Any, Callable

import torch
import torch.nn.functional as F

from mambaseq.kernels import causal_conv1d_update, selective_state_update

from .cache import InferenceCache
from .mixer import MambaMixer, MixerState
from .model import MambaLM

StepFn = Callable[[torch.Tensor, Any], torch.Tensor]
# Eager steps run before capture: they compile the Triton kernels and warm cuBLAS up.
_WARMUP_STEPS = 2


def prefill(model: torch.nn.Module, ids: torch.Tensor, cache: Any,
            max_tokens: int = 65536) -> None:
    """Advance ``cache`` over ids (batch, length) int64 with the parallel forward, in chunks
    of at most ``max_tokens`` tokens (batch x chunk length) per pass; the logits are dropped.
    The forward may rebind the cache's tensors (``MambaMixer.forward`` does)."""
    chunk = max(1, max_tokens // ids.shape[0])
    for start in range(0, ids.shape[1], chunk):
        model(ids[:, start:start + chunk], cache)


@dataclasses.dataclass
class _MixerConstants:
    """Per-mixer float32 tensors that ``MambaMixer.step`` would recompute every token."""

    A: torch.Tensor            # (d_inner, d_state), -exp(A_log)
    D: torch.Tensor            # (d_inner,)
    dt_weight: torch.Tensor    # (d_inner, dt_rank)
    dt_bias: torch.Tensor      # (d_inner,)

    @classmethod
    def of(cls, mixer: MambaMixer) -> "_MixerConstants":
        return cls(A=-torch.exp(mixer.A_log.float()), D=mixer.D.float(),
                   dt_weight=mixer.dt_proj.weight.float(), dt_bias=mixer.dt_proj.bias.float())


def _mixer_step(mixer: MambaMixer, const: _MixerConstants, hidden: torch.Tensor,
                state: MixerState) -> torch.Tensor:
    """``MambaMixer.step`` with its constants precomputed: hidden (batch, d_model) ->
    (batch, d_model); state advanced in place. Same arithmetic, fewer kernels."""
    x, z = mixer.in_proj(hidden).chunk(2, dim=-1)
    x = causal_conv1d_update(x, state.conv, mixer.conv_weight, mixer.conv_bias, "silu")
    dt_low, B, C = mixer.selection(x)
    with torch.autocast(device_type=dt_low.device.type, enabled=False):
        delta = F.linear(dt_low.float(), const.dt_weight)
    y = selective_state_update(state.ssm, x, delta, const.A, B, C, const.D, z,
                               delta_bias=const.dt_bias, delta_softplus=True)
    return mixer.out_proj(y)


def _mamba_lm_step(model: MambaLM) -> StepFn:
    """A step function equal to ``model.step`` that computes the float32 constants once."""
    backbone = model.backbone
    constants = [_MixerConstants.of(layer.mixer) for layer in backbone.layers]

    def step(input_ids: torch.Tensor, cache: InferenceCache) -> torch.Tensor:
        x, residual = backbone.embedding(input_ids), None
        for layer, state, const in zip(backbone.layers, cache.layers, constants):
            normed, residual = layer.norm(x, residual)
            x = _mixer_step(layer.mixer, const, normed, state)
        x, _ = backbone.norm_f(x, residual)
        cache.seqlen_offset += 1
        return model.lm_head(x)[..., : model.config.vocab_size]
    return step


def decode_step(model: torch.nn.Module) -> StepFn:
    """The step function to decode ``model`` with: (ids (batch,), cache) -> logits
    (batch, vocab). A ``MambaLM`` whose ``step`` is not overridden gets the precomputed-
    constants step (valid while the weights do not change); other models their ``step``."""
    if isinstance(model, MambaLM) and type(model).step is MambaLM.step:
        return _mamba_lm_step(model)
    return model.step


def _snapshot(tree: Any) -> Any:
    """A copy of a cache's containers and Python values that shares its tensors."""
    if isinstance(tree, torch.Tensor):
        return tree
    if dataclasses.is_dataclass(tree):
        new = copy.copy(tree)
        for field in dataclasses.fields(tree):
            setattr(new, field.name, _snapshot(getattr(tree, field.name)))
        return new
    if isinstance(tree, (list, tuple)):
        return type(tree)(_snapshot(item) for item in tree)
    if isinstance(tree, dict):
        return {key: _snapshot(value) for key, value in tree.items()}
    return copy.deepcopy(tree)


def _restore(tree: Any, snapshot: Any) -> Any:
    """Put back the Python values of ``snapshot`` into ``tree`` (tensors left as they are);
    returns the node's new value."""
    if isinstance(tree, torch.Tensor):
        return tree
    if dataclasses.is_dataclass(tree):
        for field in dataclasses.fields(tree):
            setattr(tree, field.name, _restore(getattr(tree, field.name),
                                               getattr(snapshot, field.name)))
        return tree
    if isinstance(tree, list):
        tree[:] = [_restore(item, old) for item, old in zip(tree, snapshot)]
        return tree
    if isinstance(tree, tuple):
        return type(tree)(_restore(item, old) for item, old in zip(tree, snapshot))
    if isinstance(tree, dict):
        for key in tree:
            tree[key] = _restore(tree[key], snapshot[key])
        return tree
    return snapshot


def graph_period(model: torch.nn.Module) -> int | None:
    """How many CUDA graphs it takes to replay ``model``'s step: a step whose Python control
    flow depends on the position (a multi-rate backbone that runs its inner blocks every k-th
    token) repeats with a period in ``cache.seqlen_offset``, and gets one graph per phase.
    1 for ``MambaLM``; a model's ``decode_graph_period`` attribute otherwise; None (decode
    eagerly: capture would freeze whatever branch it saw) when a model declares none."""
    if isinstance(model, MambaLM) and type(model).step is MambaLM.step:
        return 1
    return getattr(model, "decode_graph_period", None)


class StepRunner:
    """Advances the sequences in ``cache`` by one token per call: ids (batch,) int64 ->
    logits (batch, vocab).

    With a ``period`` and CUDA tensors, the first ``max(2, period)`` calls run the step
    eagerly (compiling the kernels); then the step is captured on ``cache``'s tensors, which
    it must update in place, as ``period`` CUDA graphs, one per phase of the position, and
    every later call replays the next one. Replayed logits live in a buffer that a later
    call overwrites, and replays advance no Python value but ``cache.seqlen_offset``
    (position counters of a multi-rate model go stale: such a cache serves this decoding
    only). With ``period`` None, on the CPU, or when capture fails (with a warning), every
    call runs the step eagerly.
    """

    def __init__(self, step: StepFn, cache: Any, period: int | None = 1) -> None:
        self.step, self.cache, self.period = step, cache, period
        self.graphs: list[torch.cuda.CUDAGraph] = []
        self.calls = 0
        self._stream: torch.cuda.Stream | None = None

    @property
    def captured(self) -> bool:
        """Whether calls replay CUDA graphs."""
        return bool(self.graphs)

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        if not self.graphs and self.period is not None and ids.is_cuda \
                and self.calls >= max(_WARMUP_STEPS, self.period):
            try:
                self._capture(ids)
            except RuntimeError as error:       # e.g. an op that cannot be captured
                warnings.warn(f"CUDA graph capture failed, decoding eagerly: {error}")
                self.graphs, self.period = [], None
        self.calls += 1
        if self.graphs:
            phase = (self.calls - 1 - self._first) % len(self.graphs)
            self.ids.copy_(ids)
            self.graphs[phase].replay()
            if hasattr(self.cache, "seqlen_offset"):
                self.cache.seqlen_offset += 1
            return self.logits[phase]
        if self.period is None or not ids.is_cuda:
            return self.step(ids, self.cache)
        # warm-up on the stream the graphs will be captured on (its lazy initialisations)
        current = torch.cuda.current_stream(ids.device)
        if self._stream is None:
            self._stream = torch.cuda.Stream(device=ids.device)
        self._stream.wait_stream(current)
        with torch.cuda.stream(self._stream):
            logits = self.step(ids, self.cache)
        current.wait_stream(self._stream)
        logits.record_stream(current)
        return logits

    def _capture(self, ids: torch.Tensor) -> None:
        """Capture one graph per phase, starting at the current position; capture runs no
        kernel, and the Python values the step advances are put back afterwards."""
        before = _snapshot(self.cache)
        self.ids, self.logits, self._first = ids.clone(), [], self.calls
        for _ in range(self.period):
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=self._stream):
                self.logits.append(self.step(self.ids, self.cache))
            self.graphs.append(graph)
        _restore(self.cache, before)
