"""Variable-length training batches: windows cut to random lengths, grouped into batches by a
token budget, then either padded to the longest or packed back to back into one row with
``cu_seqlens`` (``core.packing``), so no compute is spent on padding."""
from __future__ import annotations

import zlib
from functools import partial
from typing import Any, Callable, Iterable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from biomamba import DNATokenizer, Window, WindowReader
from kernels import cu_seqlens_from_lengths

IGNORE_INDEX = -100      # target of a padded position (torch's cross_entropy default)


def stable_uniform(key: str, low: int, high: int) -> int:
    """An integer in [low, high] fixed by ``key`` (CRC-32, not Python's salted hash): the same
    window always gets the same length, in any process and after any resume."""
    return low + zlib.crc32(key.encode()) % (high - low + 1)


class RandomLengths(Sampler):
    """The items of ``items`` (a sampler of windows or crops), each cut to a length drawn
    uniformly in [min_len, its length] from the item itself and ``seed`` (so the same item
    is always cut the same way). ``length_of(item)`` is an item's length, ``cut(item, n)``
    the item shortened to n tokens. Items already shorter than ``min_len`` stay whole."""

    def __init__(self, items: Iterable, min_len: int, seed: int,
                 length_of: Callable[[Any], int], cut: Callable[[Any, int], Any]) -> None:
        if min_len < 1:
            raise ValueError(f"min_len must be at least 1 token, got {min_len}")
        self.items, self.min_len, self.seed = items, min_len, seed
        self.length_of, self.cut = length_of, cut

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.items, "set_epoch"):
            self.items.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator:
        for item in self.items:
            full = self.length_of(item)
            if full <= self.min_len:
                yield item
            else:
                yield self.cut(item, stable_uniform(f"{self.seed}:{item!r}", self.min_len, full))


class TokenBudgetBatches(Sampler):
    """Batch sampler: consecutive items of ``items`` grouped so that each batch costs at most
    ``max_tokens``: the sum of the items' lengths when ``packed``, rows x the longest item
    otherwise (what padding to the longest costs). ``length_of(item)`` gives an item's
    length. Batches are formed on the fly, so their number per epoch is not known ahead."""

    def __init__(self, items: Iterable, length_of: Callable[[Any], int], max_tokens: int,
                 packed: bool) -> None:
        self.items, self.length_of, self.max_tokens, self.packed = items, length_of, max_tokens, packed

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.items, "set_epoch"):
            self.items.set_epoch(epoch)

    def __iter__(self) -> Iterator[list]:
        batch, longest, total = [], 0, 0
        for item in self.items:
            n = self.length_of(item)
            if n > self.max_tokens:
                raise ValueError(f"an item of {n} tokens exceeds the batch budget of "
                                 f"{self.max_tokens} tokens (data.max_tokens)")
            cost = total + n if self.packed else (len(batch) + 1) * max(longest, n)
            if batch and cost > self.max_tokens:
                yield batch
                batch, longest, total = [], 0, 0
            batch.append(item)
            longest, total = max(longest, n), total + n
        if batch:
            yield batch


def window_length(window: Window) -> int:
    """Bases a window reads."""
    return window.stop - window.start


def cut_window(window: Window, n: int) -> Window:
    """The first ``n`` bases of a window."""
    return window._replace(stop=window.start + n)


def variable_length_loader(cfg: Any, windows: Sampler, seed: int, dataset: Dataset,
                           collate: Callable, extra: int = 0) -> DataLoader:
    """Training loader of a DNA data config with ``min_seq_len`` set (see
    ``pipelines.config.check_variable_length``): ``windows`` cut to random lengths of
    min_seq_len + ``extra`` bases or more (``extra`` = 1 for a language model's next-base
    target), grouped by the ``max_tokens`` budget, read by ``dataset`` and batched by
    ``collate``."""
    max_tokens = cfg.max_tokens or cfg.batch_size * (cfg.seq_len + extra)
    cut = RandomLengths(windows, cfg.min_seq_len + extra, seed, window_length, cut_window)
    batches = TokenBudgetBatches(cut, window_length, max_tokens, packed=cfg.pack)
    return DataLoader(dataset, batch_sampler=batches, collate_fn=collate,
                      num_workers=cfg.num_workers)


def crop_length(crop: tuple[int, ...], full: int) -> int:
    """Samples an audio crop key (file, start[, n]) reads; ``full`` when it has no n."""
    return crop[2] if len(crop) == 3 else full


def cut_crop(crop: tuple[int, ...], n: int) -> tuple[int, int, int]:
    """An audio crop key shortened to its first ``n`` samples."""
    return crop[0], crop[1], n


def variable_length_crops(cfg: Any, crops: Sampler, seed: int, dataset: Dataset) -> DataLoader:
    """Training loader of an audio folder config with ``min_seq_len`` set: ``crops`` of
    seq_len + 1 samples (``RandomCrops``) cut to random lengths, grouped by ``max_tokens``,
    read by ``dataset`` (``EncodedAudio``) into packed or padded ``lm_batch`` dicts."""
    full = cfg.seq_len + 1
    length_of = partial(crop_length, full=full)
    cut = RandomLengths(crops, cfg.min_seq_len + 1, seed, length_of, cut_crop)
    batches = TokenBudgetBatches(cut, length_of, cfg.max_tokens or cfg.batch_size * full,
                                 packed=cfg.pack)
    return DataLoader(dataset, batch_sampler=batches, num_workers=cfg.num_workers,
                      collate_fn=partial(lm_batch, packed=cfg.pack, pad_id=0))


class ExactWindows(Dataset):
    """Dataset over ``Window`` keys: window -> its bases as (stop - start,) int64 ids, no
    padding (windows of at most ``max_length`` bases)."""

    def __init__(self, max_length: int, tokenizer: DNATokenizer) -> None:
        self.reader = WindowReader(max_length, tokenizer)

    def __getitem__(self, window: Window) -> torch.Tensor:
        ids, n = self.reader.read(window)
        return ids[:n]


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
