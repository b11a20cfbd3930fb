"""``mambaseq scale CONFIG [key=value ...]``: a sequence-length scaling study on DNA. A cell
is one model size of ``sweep.sizes``, context length 2**k of ``sweep.log2_lengths`` and seed
of ``sweep.seeds`` (plus ``sweep.noise_seeds`` at ``sweep.noise_log2_length``: the
run-to-run noise); each trains a language model for ``trainer.max_steps`` steps of
``sweep.tokens_per_step`` tokens (batch = tokens_per_step / length), then measures its
validation loss (on ``sweep.val_tokens`` bases at every length, when set).

Run folder: config.yaml (the config of the last call: the recipe every cell shares);
scale.csv, one row per finished cell (length, log2_length, d_model,
n_layer, seed, params, batch_size, steps, tokens_per_s, peak_memory_mb, memory_measure,
val_windows, val_loss, val_bits_per_base, status), replaced atomically after every cell;
loss_vs_length.png (mean over seeds, the spread of seeds as error bars),
throughput_vs_length.png, memory_vs_length.png, one line per model size; runs/<cell>/logs and
runs/<cell>/config.yaml, the config that reruns that cell alone (its size, length and seed as
the sweep), so a folder filled over several calls says how each of its cells was made.

Resuming: a rerun into the same run folder (``trainer.resume``, on by default) skips the cells
that scale.csv already holds and appends the others, so a sweep too long for one session is
split over several calls by rerunning it (carry the run folder between machines); the lists
of sizes, lengths and seeds may grow between calls, but the recipe (model, data, optim,
tokens per step, steps, precision) must stay. ``trainer.resume=false`` starts afresh.

tokens_per_s: training tokens over the wall time of the steps after the first (which pays
for compilation and warm-up; with one step, that step). peak_memory_mb: on a GPU
torch.cuda.max_memory_allocated during training; on a CPU the peak growth of the C heap's
bytes in use during training (glibc mallinfo2; see pipelines.memory; memory_measure says
which). A cell that runs out of GPU memory is recorded with status "oom" and the sweep goes
on (delete its row to try it again)."""
from __future__ import annotations

import argparse
import csv
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import OmegaConf

from mambaseq.core import ConfigError, MambaConfig

from ..config import (ConfigFileError, TrainingJobConfig, add_config_arguments, load_config,
                      to_plain)
from ..data.dna_windows import DNADataConfig, DNAWindowsDataModule
from ..evaluation.peak_memory import PeakMemory
from ..evaluation.reports import line_plot, markdown_table, write_csv
from ..training.language_model import LMModule
from ..training.run_folder import CONFIG_FILE, plan_run, start_run
from ..training.trainer import make_trainer


@dataclass
class ModelSize:
    """One model size of the sweep; the other shape keys come from the config's ``model``."""

    d_model: int = 64
    n_layer: int = 2


@dataclass
class SweepConfig:
    """Every (size, length, seed) cell is one run of ``trainer.max_steps`` steps on batches of
    ``tokens_per_step // 2**log2_length`` windows of 2**log2_length bases. ``seeds`` run at
    every length, ``noise_seeds`` only at ``noise_log2_length`` (one of ``log2_lengths``).
    ``val_tokens``: validate every cell on ``val_tokens // length`` windows (at least one;
    the same leading bases of every validation record at every length); None: the data's
    ``max_val_windows``."""

    log2_lengths: list[int] = field(default_factory=lambda: [10, 12, 14])
    sizes: list[ModelSize] = field(default_factory=lambda: [ModelSize()])
    tokens_per_step: int = 2 ** 16
    seeds: list[int] = field(default_factory=lambda: [0])
    noise_seeds: list[int] = field(default_factory=list)
    noise_log2_length: Optional[int] = None
    val_tokens: Optional[int] = None

    def __post_init__(self) -> None:
        if not self.log2_lengths or not self.sizes or not self.seeds:
            raise ConfigError("sweep.log2_lengths, sweep.sizes and sweep.seeds must not be empty")
        if any(not 1 <= k <= 30 for k in self.log2_lengths):
            raise ConfigError(f"sweep.log2_lengths must lie in [1, 30], got {self.log2_lengths}")
        longest = 2 ** max(self.log2_lengths)
        if self.tokens_per_step < longest:
            raise ConfigError(f"sweep.tokens_per_step = {self.tokens_per_step} is less than the "
                              f"longest length 2^{max(self.log2_lengths)} = {longest}: raise it "
                              f"(a step holds at least one window)")
        if self.noise_seeds and self.noise_log2_length not in self.log2_lengths:
            raise ConfigError(f"sweep.noise_seeds needs sweep.noise_log2_length to be one of "
                              f"sweep.log2_lengths {self.log2_lengths}, got "
                              f"{self.noise_log2_length}")
        if self.val_tokens is not None and self.val_tokens < 1:
            raise ConfigError(f"sweep.val_tokens must be >= 1 or null, got {self.val_tokens}")

    def cells(self) -> list[tuple[ModelSize, int, int]]:
        """Every (size, log2 length, seed) of the sweep, in run order: size by size, length by
        length, the noise seeds right after their length's own seeds."""
        out = []
        for size in self.sizes:
            for k in self.log2_lengths:
                extra = self.noise_seeds if k == self.noise_log2_length else []
                out += [(size, k, seed) for seed in dict.fromkeys([*self.seeds, *extra])]
        return out


@dataclass
class ScaleJobConfig(TrainingJobConfig):
    """``mambaseq scale``: ``model`` and ``data`` are the base of every run; each run sets
    model.d_model/n_layer from ``sweep.sizes`` and data.seq_len/batch_size from the sweep."""

    model: MambaConfig = field(default_factory=MambaConfig)
    data: DNADataConfig = field(default_factory=DNADataConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "configs/scale/dna_demo.yaml",
                         "'sweep.log2_lengths=[8,10]' trainer.max_steps=5 data.fasta=my.fa")


class StepTimer(L.Callback):
    """Wall time of every training batch (forward, backward, optimiser step), in seconds,
    with the device synchronised at both ends."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    @staticmethod
    def _sync(module: L.LightningModule) -> None:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self._sync(module)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self._sync(module)
        self.seconds.append(time.perf_counter() - self._start)

    def tokens_per_second(self, tokens_per_step: int) -> float:
        timed = self.seconds[1:] or self.seconds
        return tokens_per_step * len(timed) / sum(timed) if timed else math.nan


class MemoryProbe(L.Callback):
    """Samples ``memory`` before every backward pass, when the step's activations are all
    held (the CPU measure is otherwise sampled on a timer only)."""

    def __init__(self, memory: PeakMemory) -> None:
        self.memory = memory

    def on_before_backward(self, trainer, module, loss) -> None:
        self.memory.sample()


def size_label(size: ModelSize, params: int) -> str:
    return f"d_model {size.d_model}, {size.n_layer} layers ({params / 1e6:.3g}M params)"


def cell_key(row: dict[str, Any]) -> tuple[int, int, int, int]:
    """(d_model, n_layer, length, seed) of a CSV row (read back as strings, or fresh)."""
    return (int(row["d_model"]), int(row["n_layer"]), int(row["length"]), int(row["seed"]))


def save_cell_config(plain: dict[str, Any], size: ModelSize, log2_length: int, seed: int,
                     folder: Path) -> None:
    """Write ``folder``/config.yaml (the first process only): the sweep's config ``plain``
    narrowed to this one cell."""
    sweep = dict(plain["sweep"], sizes=[asdict(size)], log2_lengths=[log2_length], seeds=[seed],
                 noise_seeds=[], noise_log2_length=None)
    folder.mkdir(parents=True, exist_ok=True)
    if rank_zero_only.rank == 0:
        OmegaConf.save(OmegaConf.create(dict(plain, sweep=sweep)), folder / CONFIG_FILE)


def one_run(cfg: ScaleJobConfig, size: ModelSize, log2_length: int, seed: int, root: Path,
            plain: dict[str, Any]) -> dict[str, Any]:
    """Train and validate one (size, length, seed) cell; returns its CSV row."""
    length = 2 ** log2_length
    batch = cfg.sweep.tokens_per_step // length
    steps = cfg.trainer.max_steps
    model = replace(cfg.model, d_model=size.d_model, n_layer=size.n_layer)
    val_windows = cfg.data.max_val_windows
    if cfg.sweep.val_tokens is not None:
        val_windows = max(1, cfg.sweep.val_tokens // length)
    data_cfg = replace(cfg.data, seq_len=length, batch_size=batch,
                       train_windows_per_epoch=steps * batch, max_val_windows=val_windows)
    name = f"L{length}_d{size.d_model}_n{size.n_layer}_s{seed}"
    save_cell_config(plain, size, log2_length, seed, root / "runs" / name)
    tr = replace(cfg.trainer, seed=seed, resume=False)
    L.seed_everything(seed, workers=True, verbose=False)
    data = DNAWindowsDataModule(data_cfg, seed=seed)
    data.setup("fit")
    module = LMModule(model=model.to_dict(), optim=asdict(cfg.optim), max_steps=steps,
                      run_config=plain, activation_checkpointing=tr.activation_checkpointing,
                      recompute_mixer_core=tr.recompute_mixer_core)
    params = sum(p.numel() for p in module.model.parameters())
    row = {"length": length, "log2_length": log2_length, "d_model": size.d_model,
           "n_layer": size.n_layer, "seed": seed, "params": params, "batch_size": batch,
           "steps": steps, "tokens_per_s": math.nan, "peak_memory_mb": math.nan,
           "memory_measure": "", "val_windows": len(data.val_windows), "val_loss": math.nan,
           "val_bits_per_base": math.nan, "status": "ok"}
    trainer = make_trainer(tr, cfg.optim.grad_clip, root / "runs" / name, monitor=None)
    timer, memory = StepTimer(), PeakMemory(trainer.strategy.root_device)
    trainer.callbacks += [timer, MemoryProbe(memory)]
    row["memory_measure"] = memory.measure
    try:
        with memory:
            trainer.fit(module, train_dataloaders=data.train_dataloader())
        final = trainer.validate(module, dataloaders=data.val_dataloader(), verbose=False)[0]
    except torch.OutOfMemoryError:
        row["status"] = "oom"
        torch.cuda.empty_cache()
        return row
    row.update(tokens_per_s=timer.tokens_per_second(batch * length), peak_memory_mb=memory.peak_mb,
               val_loss=final["val/loss"], val_bits_per_base=final["val/bits_per_token"])
    return row


def plot_sweep(rows: list[dict[str, Any]], root: Path) -> list[Path]:
    """The three PNGs of the study: one line per model size against length (log2 axis); the
    loss is the mean over a cell's seeds, with error bars from their lowest to highest."""
    by_size: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for row in rows:
        if row["status"] != "ok":
            continue
        label = size_label(ModelSize(int(row["d_model"]), int(row["n_layer"])), int(row["params"]))
        by_size.setdefault(label, {}).setdefault(int(row["length"]), []).append(row)
    measure = rows[0]["memory_measure"]

    def series(key: str) -> dict[str, tuple[list[float], list[float]]]:
        return {label: (sorted(cells), [statistics.mean(float(r[key]) for r in cells[n])
                                        for n in sorted(cells)])
                for label, cells in by_size.items()}

    def spread(key: str) -> dict[str, tuple[list[float], list[float]]]:
        out = {}
        for label, cells in by_size.items():
            values = [[float(r[key]) for r in cells[n]] for n in sorted(cells)]
            means = [statistics.mean(v) for v in values]
            out[label] = ([m - min(v) for m, v in zip(means, values)],
                          [max(v) - m for m, v in zip(means, values)])
        return out

    return [
        line_plot(root / "loss_vs_length.png", series("val_bits_per_base"),
                  "context length (bases)", "validation bits per base",
                  "Validation loss vs context length (bars: spread over seeds)",
                  spread=spread("val_bits_per_base")),
        line_plot(root / "throughput_vs_length.png", series("tokens_per_s"), "context length (bases)",
                  "training tokens / s", "Training throughput vs context length"),
        line_plot(root / "memory_vs_length.png", series("peak_memory_mb"), "context length (bases)",
                  f"peak memory (MiB, {measure})", "Peak training memory vs context length"),
    ]


RECIPE_KEYS = ("model", "data", "optim", "sweep.tokens_per_step", "sweep.val_tokens",
               "trainer.max_steps", "trainer.precision")


def finished_rows(root: Path, plain: dict[str, Any], resume: bool) -> list[dict[str, Any]]:
    """The rows of the run folder's scale.csv that a rerun keeps (none without ``resume`` or
    a CSV); ``ConfigFileError`` when the saved config's recipe differs from ``plain``."""
    table, saved = root / "scale.csv", root / CONFIG_FILE
    if not resume or not table.is_file():
        return []
    if saved.is_file():
        old = to_plain(OmegaConf.load(saved))
        differing = [key for key in RECIPE_KEYS if _get(old, key) != _get(plain, key)
                     and not (key == "data" and _without_workers(old, plain))]
        if differing:
            raise ConfigFileError(
                f"{root} holds a sweep with another recipe ({', '.join(differing)} differ), so "
                f"its cells cannot be continued; start afresh with trainer.resume=false, or give "
                f"the new sweep its own trainer.run_name")
    with open(table, newline="") as handle:
        rows = [{k: _typed(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    if rows and "seed" not in rows[0]:
        raise ConfigFileError(f"{table} has no seed column (written by an older mambaseq): "
                              f"start afresh with trainer.resume=false")
    return rows


def _typed(text: str) -> Any:
    """A CSV cell as the int or float it was written from; other text as it is."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _get(tree: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        tree = tree.get(part, {}) if isinstance(tree, dict) else {}
    return tree


def _without_workers(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether the data sections agree once ``num_workers`` (no part of the recipe) is left out."""
    strip = [{k: v for k, v in cfg.get("data", {}).items() if k != "num_workers"}
             for cfg in (old, new)]
    return strip[0] == strip[1]


def write_csv_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    """``write_csv`` into a temporary file beside ``path``, then rename it over ``path``: a
    sweep killed mid-write leaves the previous table whole."""
    partial = path.with_suffix(".csv.partial")
    write_csv(partial, rows)
    os.replace(partial, path)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the cells of the sweep that the run folder does not hold yet; returns every row."""
    cfg, resolved = load_config(ScaleJobConfig, args.config, args.overrides)
    plan = plan_run(replace(cfg.trainer, resume=False), resolved)   # cells restart, not resume
    root, plain = plan.dir, plan.config
    rows = finished_rows(root, plain, cfg.trainer.resume)
    longest = 2 ** max(cfg.sweep.log2_lengths)             # the data must serve every run
    DNAWindowsDataModule(replace(cfg.data, seq_len=longest, batch_size=1), seed=0).setup("fit")
    start_run(plan, resolved)
    done = {cell_key(r) for r in rows}
    if rows:
        print(f"[mambaseq] scale: {root / 'scale.csv'} holds {len(rows)} cell(s); running the rest")
    for size, log2_length, seed in cfg.sweep.cells():
        if (size.d_model, size.n_layer, 2 ** log2_length, seed) in done:
            continue
        print(f"[mambaseq] scale: d_model {size.d_model}, {size.n_layer} layers, "
              f"length 2^{log2_length}, seed {seed}")
        rows.append(one_run(cfg, size, log2_length, seed, root, plain))
        write_csv_atomic(root / "scale.csv", rows)
    if not rows:
        raise ConfigFileError("sweep: no cell to run")
    plots = plot_sweep(rows, root)
    print(markdown_table(rows))
    print(f"[mambaseq] {root / 'scale.csv'}; plots: {', '.join(str(p) for p in plots)}")
    return rows
