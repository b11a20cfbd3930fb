"""Variable-length training batches: each step's windows (or audio crops) cut to random
lengths, as many as fit a token budget, then either padded to the longest or packed back to
back into one row with ``cu_seqlens`` (``core.packed``), so no compute is spent on padding.
The step's batch is a function of (seed, step), like every training batch
(``pipelines.data.step_loader``): resume stays exact."""
from __future__ import annotations

import math
import zlib
from functools import partial
from typing import Any, Callable

import torch

from mambaseq.biomamba import Window
from mambaseq.kernels import cu_seqlens_from_lengths

IGNORE_INDEX = -100      # target of a padded position (torch's cross_entropy default)


def stable_uniform(key: str, low: int, high: int) -> int:
    """An integer in [low, high] fixed by ``key`` (CRC-32, not Python's salted hash): the same
    window always gets the same length, in any process and after any resume."""
    return low + zlib.crc32(key.encode()) % (high - low + 1)


def cut_to_random_length(item: Any, min_len: int, seed: int,
                         length_of: Callable[[Any], int], cut: Callable[[Any, int], Any]) -> Any:
    """``item`` (a window or crop key) cut to a length drawn uniformly in [min_len, its
    length] from the item itself and ``seed``, so the same item is always cut the same way;
    an item of at most ``min_len`` tokens stays whole. ``length_of(item)`` is its length,
    ``cut(item, n)`` the item shortened to n tokens."""
    full = length_of(item)
    if full <= min_len:
        return item
    return cut(item, stable_uniform(f"{seed}:{item!r}", min_len, full))


def within_budget(items: list, length_of: Callable[[Any], int], max_tokens: int,
                  packed: bool) -> list:
    """The longest prefix of ``items`` whose cost stays within ``max_tokens``: the sum of the
    lengths when ``packed``, rows x the longest otherwise (what padding costs). Raises
    ``ValueError`` when even the first item does not fit."""
    kept, longest, total = [], 0, 0
    for item in items:
        n = length_of(item)
        cost = total + n if packed else (len(kept) + 1) * max(longest, n)
        if cost > max_tokens:
            break
        kept.append(item)
        longest, total = max(longest, n), total + n
    if items and not kept:
        raise ValueError(f"an item of {length_of(items[0])} tokens exceeds the batch budget of "
                         f"{max_tokens} tokens (data.max_tokens)")
    return kept


class VariableLengthDraw:
    """``draw`` for ``pipelines.data.step_loader.StepBatches``: the global batch of training step s
    is made of the items ``draw_items(s, n)`` draws (windows or crops of ``full_len``
    tokens), each cut to a random length of at least ``min_len`` tokens, as many as fit in
    ``max_tokens`` (packed or padded). n is twice what the budget holds at the mean length,
    so the budget is nearly always filled. Deterministic in (step, seed): exact resume."""

    def __init__(self, draw_items: Callable[[int, int], list], full_len: int, min_len: int,
                 max_tokens: int, packed: bool, seed: int, length_of: Callable[[Any], int],
                 cut: Callable[[Any, int], Any]) -> None:
        self.draw_items, self.min_len, self.max_tokens, self.packed = draw_items, min_len, max_tokens, packed
        self.seed, self.length_of, self.cut = seed, length_of, cut
        mean = (min_len + full_len) / 2
        self.candidates = max(1, min(max_tokens // min_len, 2 * math.ceil(max_tokens / mean)))

    def __call__(self, step: int, shape: Any = None) -> list:
        items = [cut_to_random_length(item, self.min_len, self.seed, self.length_of, self.cut)
                 for item in self.draw_items(step, self.candidates)]
        return within_budget(items, self.length_of, self.max_tokens, self.packed)


def window_length(window: Window) -> int:
    """Bases a window reads."""
    return window.stop - window.start


def cut_window(window: Window, n: int) -> Window:
    """The first ``n`` bases of a window."""
    return window._replace(stop=window.start + n)


def crop_length(crop: tuple[int, ...], full: int) -> int:
    """Samples an audio crop key (file, start[, n]) reads; ``full`` when it has no n."""
    return crop[2] if len(crop) == 3 else full


def cut_crop(crop: tuple[int, ...], n: int) -> tuple[int, int, int]:
    """An audio crop key shortened to its first ``n`` samples."""
    return crop[0], crop[1], n


def variable_length_windows(cfg: Any, windows: Callable[[int, int], list], seed: int,
                            extra: int = 0) -> VariableLengthDraw:
    """The step draw of a DNA data config with ``min_seq_len`` (see
    ``pipelines.config.VariableLengthConfig``) from ``windows(step, n)`` of seq_len +
    ``extra`` bases (``extra`` = 1 for a language model's next-base target)."""
    full = cfg.seq_len + extra
    return VariableLengthDraw(windows, full, cfg.min_seq_len + extra,
                              cfg.max_tokens or cfg.batch_size * full, cfg.pack, seed,
                              window_length, cut_window)


def variable_length_crops(cfg: Any, crops: Callable[[int, int], list], seed: int
                          ) -> VariableLengthDraw:
    """The step draw of an audio folder config with ``min_seq_len``: ``crops(step, n)`` of
    seq_len + 1 samples (``RandomCrops.batch``) cut to random lengths."""
    full = cfg.seq_len + 1
    return VariableLengthDraw(crops, full, cfg.min_seq_len + 1, cfg.max_tokens or cfg.batch_size * full,
                              cfg.pack, seed, partial(crop_length, full=full), cut_crop)


def lm_batch(sequences: list[torch.Tensor], packed: bool, pad_id: int) -> dict[str, torch.Tensor]:
    """Language-model batch of token sequences of different lengths (each its inputs plus the
    next token): {"inputs", "targets"} int64, targets IGNORE_INDEX where nothing is predicted.
    Packed: one row (1, total) and "cu_seqlens" int32; else rows (batch, longest) padded with
    ``pad_id``."""
    inputs = [s[:-1] for s in sequences]
    targets = [s[1:] for s in sequences]
    if packed:
        return {"inputs": torch.cat(inputs)[None], "targets": torch.cat(targets)[None],
                "cu_seqlens": cu_seqlens_from_lengths([len(s) for s in inputs])}
    pad = torch.nn.utils.rnn.pad_sequence
    return {"inputs": pad(inputs, batch_first=True, padding_value=pad_id),
            "targets": pad(targets, batch_first=True, padding_value=IGNORE_INDEX)}


def classification_batch(items: list[tuple[torch.Tensor, int, int]], packed: bool
                         ) -> dict[str, torch.Tensor] | tuple[torch.Tensor, ...]:
    """Classification batch of (ids right-padded, number of tokens, label) items. Packed:
    {"ids" (1, total), "cu_seqlens" int32, "labels" (n,)}; else (ids (batch, longest),
    lengths (batch,), labels (batch,)) as the fixed-length loaders give."""
    lengths = [n for _, n, _ in items]
    labels = torch.tensor([label for _, _, label in items])
    if packed:
        return {"ids": torch.cat([ids[:n] for ids, n, _ in items])[None],
                "cu_seqlens": cu_seqlens_from_lengths(lengths), "labels": labels}
    longest = max(lengths)
    return (torch.stack([ids[:longest] for ids, _, _ in items]), torch.tensor(lengths), labels)
