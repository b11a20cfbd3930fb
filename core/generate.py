"""Autoregressive sampling with the recurrent cache: the prompt is read in one parallel pass,
then every new token costs one O(1) ``step``."""
from __future__ import annotations

from typing import Callable

import torch

from .model import MambaLM


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


@torch.no_grad()
def generate(model: MambaLM, prompt_ids: torch.Tensor, max_new_tokens: int,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None, suppress_ids: list[int] | None = None,
             on_token: Callable[[int], None] | None = None) -> torch.Tensor:
    """Sample ``max_new_tokens`` tokens after each prompt.

    prompt_ids (batch, prompt_length >= 1) int64 on the model's device. ``temperature`` 0
    means greedy decoding. ``seed`` makes sampling reproducible (a private generator; the
    global RNG is untouched). ``suppress_ids``: token ids never to sample (e.g. specials a
    model never saw in training). ``on_token(i)`` is called after the i-th new token (progress
    bars). Returns (batch, prompt_length + max_new_tokens) int64: prompt then samples.
    """
    if prompt_ids.dim() != 2 or prompt_ids.shape[1] < 1:
        raise ValueError(f"prompt_ids must be (batch, length >= 1), got {tuple(prompt_ids.shape)}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=prompt_ids.device)
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    cache = model.allocate_cache(prompt_ids.shape[0])
    logits = model(prompt_ids, cache)[:, -1]
    out = [prompt_ids]
    for i in range(max_new_tokens):
        logits = logits.float()
        if suppress_ids:
            logits[:, suppress_ids] = float("-inf")
        if temperature == 0:
            token = logits.argmax(-1)
        else:
            probs = filter_logits(logits / temperature, top_k, top_p).softmax(-1)
            token = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        out.append(token[:, None])
        if on_token is not None:
            on_token(i)
        if i + 1 < max_new_tokens:
            logits = model.step(token, cache)
    model.train(was_training)
    return torch.cat(out, dim=1)
