"""Autoregressive sampling with the recurrent cache: the prompt is read by the parallel scan,
then every new token costs one O(1) step, replayed from a CUDA graph on the GPU (see
``core.decoding``). Sequences of a batch stop one by one at an end-of-sequence id."""
from __future__ import annotations

import inspect
from typing import Callable

import torch

from .decoding import StepRunner, decode_step, graph_period, prefill

# With a stop id, how many tokens pass between the checks whether every sequence has
# stopped: each check waits for the GPU, so checking every token would stall the pipeline.
STOP_CHECK_INTERVAL = 16


def filter_logits(logits: torch.Tensor, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Set to -inf every logit outside the top ``top_k`` and outside the smallest set whose
    probability reaches ``top_p`` (nucleus). logits (batch, vocab) -> same shape."""
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and 0 < top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        # drop a token when the tokens ranked above it already reach top_p
        drop_sorted = (cumulative - sorted_logits.softmax(-1)) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None,
           bias: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    """One token per row: logits (batch, vocab) any float dtype -> (batch,) int64.
    ``bias`` (vocab,) float32 is added first (-inf for suppressed ids); temperature 0 is
    greedy (argmax)."""
    logits = logits.float()
    if bias is not None:
        logits = logits + bias
    if temperature == 0:
        return logits.argmax(-1)
    probs = filter_logits(logits / temperature, top_k, top_p).softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(model: torch.nn.Module, prompt_ids: torch.Tensor, max_new_tokens: int,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None, suppress_ids: list[int] | None = None,
             on_token: Callable[[int], None] | None = None, *, eos_id: int | None = None,
             pad_id: int | None = None, cuda_graph: bool = True,
             prefill_tokens: int = 65536, state_dtype: torch.dtype | None = None) -> torch.Tensor:
    """Sample ``max_new_tokens`` tokens after each prompt.

    model: a ``MambaLM`` or any module with ``forward(ids, cache)``, ``step(ids, cache)`` and
    ``allocate_cache(batch_size)`` (see ``core.decoding``). prompt_ids (batch,
    prompt_length >= 1) int64 on the model's device. ``temperature`` 0 means greedy
    decoding. ``seed`` makes sampling reproducible (a private generator; the global RNG is
    untouched). ``suppress_ids``: token ids never to sample (e.g. specials a model never saw
    in training). ``on_token(i)`` is called after the i-th new token (progress bars).

    ``eos_id``: a sequence that samples it has stopped: its later tokens are ``pad_id``
    (default ``eos_id``), and generation ends once every sequence has stopped.
    ``cuda_graph``: replay each step from CUDA graphs on the GPU, for models that allow it
    (``core.decoding.graph_period``); False: eager.
    ``prefill_tokens``: at most this many prompt tokens (batch x chunk) per parallel pass.
    ``state_dtype``: passed to ``allocate_cache`` when given (``MambaLM`` and ``SaShiMiLM``:
    torch.bfloat16 keeps the scan states in bf16, as mamba_ssm's decoding does: half their
    memory and a faster step at large batches; the default float32 state matches the parallel
    forward).

    Returns (batch, prompt_length + n) int64, prompt then samples: n = ``max_new_tokens``,
    or with ``eos_id`` the longest generated length (its end-of-sequence id included).
    """
    if prompt_ids.dim() != 2 or prompt_ids.shape[1] < 1:
        raise ValueError(f"prompt_ids must be (batch, length >= 1), got {tuple(prompt_ids.shape)}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if state_dtype is not None and not _takes_state_dtype(model.allocate_cache):
        raise ValueError(f"state_dtype={state_dtype}: {type(model).__name__}.allocate_cache "
                         f"takes no state_dtype")
    was_training = model.training
    model.eval()
    try:
        return _generate(model, prompt_ids, max_new_tokens, temperature, top_k, top_p, seed,
                         suppress_ids, on_token, eos_id, eos_id if pad_id is None else pad_id,
                         cuda_graph, prefill_tokens, state_dtype)
    finally:
        model.train(was_training)


def _takes_state_dtype(allocate_cache: Callable) -> bool:
    """Whether a model's ``allocate_cache`` accepts a ``state_dtype`` keyword."""
    return any(p.name == "state_dtype" or p.kind is p.VAR_KEYWORD
               for p in inspect.signature(allocate_cache).parameters.values())


def _generate(model: torch.nn.Module, prompt_ids: torch.Tensor, max_new_tokens: int,
              temperature: float, top_k: int | None, top_p: float | None, seed: int | None,
              suppress_ids: list[int] | None, on_token: Callable[[int], None] | None,
              eos_id: int | None, pad_id: int | None, cuda_graph: bool,
              prefill_tokens: int, state_dtype: torch.dtype | None) -> torch.Tensor:
    """``generate`` after its checks, with the model in eval mode."""
    batch, prompt_length = prompt_ids.shape
    device = prompt_ids.device
    generator = torch.Generator(device=device)
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    out = prompt_ids.new_empty(batch, prompt_length + max_new_tokens)
    out[:, :prompt_length] = prompt_ids
    if max_new_tokens == 0:
        return out
    cache = (model.allocate_cache(batch) if state_dtype is None
             else model.allocate_cache(batch, state_dtype=state_dtype))
    # All but the last prompt token go through the parallel scan; the last one through the
    # step, whose logits predict the first new token (no (batch, length, vocab) logits).
    prefill(model, prompt_ids[:, :-1], cache, prefill_tokens)
    token = prompt_ids[:, -1]
    runner = StepRunner(decode_step(model), cache, graph_period(model) if cuda_graph else None)
    logits = runner(token)
    bias = None
    if suppress_ids:
        bias = torch.zeros(logits.shape[-1], device=device)
        bias[suppress_ids] = float("-inf")
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, dtype=torch.long, device=device)     # tokens until the stop
    for i in range(max_new_tokens):
        if i > 0:
            logits = runner(token)
        token = sample(logits, temperature, top_k, top_p, bias, generator)
        if eos_id is not None:
            lengths += ~finished
            token = token.masked_fill(finished, pad_id)
            finished |= token == eos_id
        out[:, prompt_length + i] = token
        if on_token is not None:
            on_token(i)
        if eos_id is not None and ((i + 1) % STOP_CHECK_INTERVAL == 0 or not out.is_cuda) \
                and bool(finished.all()):
            break
    steps = max_new_tokens if eos_id is None else int(lengths.max())
    return out[:, : prompt_length + steps]
