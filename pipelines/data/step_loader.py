"""Training batches indexed by the optimizer step: the batch of step ``s`` is a function of
(seed, ``s``) alone. That makes three things exact: resuming mid-epoch (the loader's state is
the next step, which Lightning saves in every checkpoint and restores), data parallelism (each
rank takes its slice of the step's one global batch) and sequence-length warm-up (the shape
of a batch is a function of its step)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..config import ConfigFileError, WarmupWindowsConfig


@dataclass(frozen=True)
class BatchShape:
    """``batch`` sequences of ``length`` tokens (inputs; the windows read hold one more)."""

    length: int
    batch: int


class LengthSchedule:
    """The global batch shape of every training step.

    Without warm-up every step is (``seq_len``, ``batch_size``). With it (the Mamba paper's
    sequence-length warm-up) step ``s`` belongs to stage ``min(s // steps_per_stage, last)``;
    stage ``i`` has length ``start_len * 2**i`` and batch ``batch_size * seq_len / length``,
    so every step holds the same ``batch_size * seq_len`` tokens; the last stage is
    (``seq_len``, ``batch_size``) and lasts for the rest of training.
    """

    def __init__(self, seq_len: int, batch_size: int, start_len: Optional[int] = None,
                 steps_per_stage: int = 1) -> None:
        self.seq_len, self.batch_size, self.steps_per_stage = seq_len, batch_size, steps_per_stage
        lengths = [seq_len]
        if start_len is not None:
            lengths, length = [], start_len
            while length < seq_len:
                lengths.append(length)
                length *= 2
            lengths.append(seq_len)
        self.shapes = [BatchShape(n, batch_size * seq_len // n) for n in lengths]

    def stage(self, step: int) -> int:
        """The warm-up stage (0-based) of training step ``step``."""
        return min(step // self.steps_per_stage, len(self.shapes) - 1)

    def at(self, step: int) -> BatchShape:
        """The global batch shape of training step ``step``."""
        return self.shapes[self.stage(step)]


def window_schedule(cfg: WarmupWindowsConfig) -> LengthSchedule:
    """The schedule of a DNA data config: constant (``seq_len``, ``batch_size``), or its
    ``seq_len_warmup``'s stages."""
    warmup = cfg.seq_len_warmup
    if warmup is None:
        return LengthSchedule(cfg.seq_len, cfg.batch_size)
    return LengthSchedule(cfg.seq_len, cfg.batch_size, warmup.start_len, warmup.steps_per_stage)


def check_divisible(batch_size: int, world_size: int) -> None:
    """Raise ``ConfigFileError`` unless ``world_size`` ranks split a ``batch_size`` batch evenly."""
    if batch_size % world_size:
        raise ConfigFileError(f"key 'data.batch_size': {batch_size} is the global batch of a step; "
                              f"it must divide evenly across the {world_size} processes "
                              f"(trainer.devices x trainer.num_nodes)")


class EpochShuffle:
    """``draw`` for ``StepBatches`` over a dataset of ``size`` items read in a new seeded
    order every epoch: the batch of step ``s`` is the ``s % steps_per_epoch``-th slice of
    ``batch`` items of epoch ``s // steps_per_epoch``'s permutation (the last partial batch of
    an epoch is left out)."""

    def __init__(self, size: int, batch: int, seed: int) -> None:
        self.size, self.batch, self.seed = size, batch, seed
        self.steps_per_epoch = size // batch
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.int64)

    def __call__(self, step: int, shape: BatchShape) -> list[int]:
        epoch, position = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed((self.seed * 0x9E3779B97F4A7C15 + epoch) % 2 ** 63)
            self._epoch, self._order = epoch, torch.randperm(self.size, generator=g)
        return self._order[position * self.batch:(position + 1) * self.batch].tolist()


class StepBatches(Sampler):
    """A batch sampler: for each training step ``s`` from ``next_step`` to the end of its
    epoch, this rank's contiguous slice of ``draw(s, shape)`` (the step's global batch of
    keys, ``shape = schedule.at(s)``; each rank takes an equal share of its keys, which a
    variable-length draw may leave a few of). An epoch is ``steps_per_epoch`` steps."""

    def __init__(self, draw: Callable[[int, BatchShape], list], schedule: LengthSchedule,
                 steps_per_epoch: int, rank: int = 0, world_size: int = 1) -> None:
        if steps_per_epoch < 1:
            raise ConfigFileError("key 'data.batch_size': larger than the training items of an "
                                  "epoch (data.train_windows_per_epoch, train_crops_per_epoch or "
                                  "the training clips)")
        for shape in schedule.shapes:
            check_divisible(shape.batch, world_size)
        self.draw, self.schedule, self.steps_per_epoch = draw, schedule, steps_per_epoch
        self.rank, self.world_size, self.next_step = rank, world_size, 0

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __iter__(self) -> Iterator[list]:
        start = self.next_step
        end = (start // self.steps_per_epoch + 1) * self.steps_per_epoch
        for step in range(start, end):
            keys = self.draw(step, self.schedule.at(step))
            share = len(keys) // self.world_size
            if share == 0:
                raise ConfigFileError(f"training step {step} holds {len(keys)} item(s) for "
                                      f"{self.world_size} processes: raise data.max_tokens")
            yield keys[self.rank * share:(self.rank + 1) * share]


class StepLoader(DataLoader):
    """A DataLoader over ``StepBatches`` that Lightning can resume mid-epoch: ``state_dict``
    is {"step": the next step to train}, counted from the batches handed out (not from what
    worker processes prefetched); ``load_state_dict`` makes the next iteration start there.
    Worker seeds come from the loader's own generator, so starting an iteration leaves the
    global random number generators alone."""

    def __init__(self, dataset: Dataset, batches: StepBatches, **kwargs: Any) -> None:
        super().__init__(dataset, batch_sampler=batches, generator=torch.Generator(), **kwargs)

    def __iter__(self) -> Iterator[Any]:
        batches: StepBatches = self.batch_sampler
        start = batches.next_step
        for n, batch in enumerate(super().__iter__(), 1):
            batches.next_step = start + n
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"step": self.batch_sampler.next_step}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batch_sampler.next_step = int(state["step"])


def step_loader(module: L.LightningDataModule, dataset: Dataset,
                draw: Callable[[int, BatchShape], list], schedule: LengthSchedule,
                steps_per_epoch: int, num_workers: int,
                collate_fn: Optional[Callable[[list], Any]] = None) -> StepLoader:
    """The training loader of ``module``: this process's slices of every step's global batch
    (rank and world size from the Trainer running it; one process without one), starting at
    the Trainer's global step. Lightning then restores the loader's own state, which agrees;
    starting at the global step also continues right from a checkpoint that has no loader
    state (one written before loaders had it)."""
    trainer = getattr(module, "trainer", None)
    rank, world, step = ((trainer.global_rank, trainer.world_size, trainer.global_step)
                         if trainer is not None else (0, 1, 0))
    batches = StepBatches(draw, schedule, steps_per_epoch, rank, world)
    batches.next_step = step
    return StepLoader(dataset, batches, num_workers=num_workers, collate_fn=collate_fn)
