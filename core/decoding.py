"""The decoding fast path: prefill by the parallel scan, then one captured step per token.

- ``prefill`` reads a prompt with the model's parallel forward (chunked, so memory stays
  bounded for long prompts and large batches) and leaves the recurrent state in the cache.
- ``decode_step`` picks the step function: for ``MambaLM`` its own ``step`` given the
  per-layer float32 constants (A = -exp(A_log), D, the Δ projection) computed once
  (``MambaMixer.step_constants``), instead of recasting them every token; likewise any other
  model with ``step_constants()`` (``step(ids, cache, constants)``); else the model's ``step``.
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


def decode_step(model: torch.nn.Module) -> StepFn:
    """The step function to decode ``model`` with: (ids (batch,), cache) -> logits
    (batch, vocab). A ``MambaLM`` (``step`` not overridden) steps with its per-layer float32
    constants computed once, here (valid while the weights do not change); so does any other
    model with a ``step_constants()`` method, whose ``step`` takes them as third argument;
    other models step with their own ``step``."""
    if isinstance(model, MambaLM):
        takes_constants = type(model).step is MambaLM.step
    else:
        takes_constants = callable(getattr(model, "step_constants", None))
    if takes_constants:
        constants = model.step_constants()
        return lambda input_ids, cache: model.step(input_ids, cache, constants)
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
