"""The Mamba paper's synthetic diagnostic tasks (Gu & Dao 2023, section 4.1) as seeded,
deterministic datasets (sample ``i`` of stream ``k`` with seed ``s`` is always the same), and
the LightningDataModule that serves them to ``mambaseq synthetic``.

Every sample is a pair (inputs, targets) of int64 tensors of one length; ``targets`` holds
``IGNORE`` (-100, what ``F.cross_entropy`` skips) wherever the task asks nothing, so a causal
language model's loss and accuracy count only the answer positions.

- **Selective copying.** Token 0 is blank (noise), token ``vocab_size - 1`` the marker,
  the others are data. A context of ``seq_len`` tokens holds ``n_data`` data tokens at random
  distinct positions, blanks elsewhere; ``n_data`` markers follow. At the k-th marker the
  model must output the k-th data token of the context. Length ``seq_len + n_data``.
- **Induction heads.** Token ``vocab_size - 1`` is the trigger, the others are ordinary. A
  sequence of ``seq_len`` random ordinary tokens holds the trigger once, at a random position
  followed by a random target token, and ends with the trigger again: at that last position
  the model must output the target. Length ``seq_len``.
"""
from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from mambaseq.core import ConfigError

from ..config import LoaderConfig
from .step_loader import BatchShape, LengthSchedule, StepLoader, step_loader


@dataclass
class SyntheticDataConfig(LoaderConfig):
    """The task and its training length. ``seq_len``: selective copying's context (the
    ``n_data`` answer positions come on top), induction heads' whole sequence."""

    task: str = "selective_copying"      # selective_copying | induction_heads
    seq_len: int = 4096
    vocab_size: int = 16                 # specials included (blank + marker, or trigger)
    n_data: int = 16                     # selective copying: data tokens to copy
    batch_size: int = 8
    val_samples: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("seq_len", "vocab_size", "n_data", "val_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be positive, got {getattr(self, name)}")
        try:
            check_task(self.task, self.seq_len, self.vocab_size, self.n_data)
        except ValueError as err:
            raise ConfigError(str(err)) from err


IGNORE = -100
TASKS = ("selective_copying", "induction_heads")
TRAIN, VAL, TEST = 0, 1, 2          # sample streams: disjoint draws for one seed


def selective_copying(rng: np.random.Generator, seq_len: int, vocab_size: int, n_data: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """One selective-copying sample: (inputs, targets), int64 arrays of length seq_len + n_data."""
    marker = vocab_size - 1
    positions = np.sort(rng.choice(seq_len, size=n_data, replace=False))
    data = rng.integers(1, marker, size=n_data)
    inputs = np.zeros(seq_len + n_data, dtype=np.int64)
    inputs[positions] = data
    inputs[seq_len:] = marker
    targets = np.full_like(inputs, IGNORE)
    targets[seq_len:] = data
    return inputs, targets


def induction_heads(rng: np.random.Generator, seq_len: int, vocab_size: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One induction-heads sample: (inputs, targets), int64 arrays of length seq_len."""
    trigger = vocab_size - 1
    inputs = rng.integers(0, trigger, size=seq_len).astype(np.int64)
    position = int(rng.integers(0, seq_len - 2))
    inputs[position] = trigger
    target = inputs[position + 1]
    inputs[-1] = trigger
    targets = np.full_like(inputs, IGNORE)
    targets[-1] = target
    return inputs, targets


def task_length(task: str, seq_len: int, n_data: int) -> int:
    """Total tokens of one sample of ``task``."""
    return seq_len + n_data if task == "selective_copying" else seq_len


def chance_accuracy(task: str, vocab_size: int) -> float:
    """Accuracy of a uniform guess among the tokens an answer can be."""
    return 1 / (vocab_size - 2) if task == "selective_copying" else 1 / (vocab_size - 1)


def check_task(task: str, seq_len: int, vocab_size: int, n_data: int) -> None:
    """Raise ``ValueError`` naming the data key when the task cannot be built at these sizes."""
    if task not in TASKS:
        raise ValueError(f"data.task must be one of {', '.join(TASKS)}, got {task!r}")
    if task == "selective_copying":
        if vocab_size < 3:
            raise ValueError(f"data.vocab_size must be >= 3 (blank, marker, data), got {vocab_size}")
        if not 1 <= n_data <= seq_len:
            raise ValueError(f"data.n_data must be in [1, data.seq_len = {seq_len}], got {n_data}")
    else:
        if vocab_size < 2:
            raise ValueError(f"data.vocab_size must be >= 2 (trigger, tokens), got {vocab_size}")
        if seq_len < 4:
            raise ValueError(f"data.seq_len must be >= 4 for induction heads, got {seq_len}")


class SyntheticTask(Dataset):
    """``num_samples`` samples of ``task`` at ``seq_len``; sample ``i`` is drawn from a NumPy
    generator seeded with (seed, stream, i), so it depends on nothing else (workers, order,
    batch) and the TRAIN, VAL and TEST streams of one seed are independent draws.

    Items: (inputs, targets), each (length,) int64 with length ``task_length(...)``.
    """

    def __init__(self, task: str, num_samples: int, seq_len: int, vocab_size: int,
                 seed: int, stream: int, n_data: int = 16) -> None:
        check_task(task, seq_len, vocab_size, n_data)
        self.task, self.num_samples, self.seq_len = task, num_samples, seq_len
        self.vocab_size, self.seed, self.stream, self.n_data = vocab_size, seed, stream, n_data

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < self.num_samples:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.stream, index])
        if self.task == "selective_copying":
            inputs, targets = selective_copying(rng, self.seq_len, self.vocab_size, self.n_data)
        else:
            inputs, targets = induction_heads(rng, self.seq_len, self.vocab_size)
        return torch.from_numpy(inputs), torch.from_numpy(targets)


class SyntheticDataModule(L.LightningDataModule):
    """Batches of (inputs, targets), each (batch, length) int64: ``train_samples`` fresh
    training samples, step ``s`` taking samples ``s * batch_size`` to ``(s + 1) * batch_size
    - 1`` (``mambaseq synthetic`` asks for max_steps x batch_size, so no sample repeats, also
    across a resume: the loader restarts at the checkpoint's step), and ``val_samples`` fixed
    validation samples, at the trained length. ``batch_size`` is the global batch of a step;
    several processes each take an equal slice of it (``shards_by_rank``: the Trainer must
    not add a distributed sampler)."""

    shards_by_rank = True

    def __init__(self, task: str, seq_len: int, vocab_size: int, n_data: int, batch_size: int,
                 train_samples: int, val_samples: int, seed: int, num_workers: int = 0) -> None:
        super().__init__()
        self.train = SyntheticTask(task, train_samples, seq_len, vocab_size, seed, TRAIN, n_data)
        self.val = SyntheticTask(task, val_samples, seq_len, vocab_size, seed, VAL, n_data)
        self.batch_size, self.num_workers = batch_size, num_workers

    def _draw(self, step: int, shape: BatchShape) -> list[int]:
        """The sample indices of training step ``step``: the next ``shape.batch`` of the stream."""
        return list(range(step * shape.batch, (step + 1) * shape.batch))

    def train_dataloader(self) -> StepLoader:
        length = task_length(self.train.task, self.train.seq_len, self.train.n_data)
        return step_loader(self, self.train, self._draw, LengthSchedule(length, self.batch_size),
                           len(self.train) // self.batch_size, self.num_workers)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=self.batch_size, num_workers=self.num_workers)
