"""``mambaseq scale CONFIG [key=value ...]``: a sequence-length scaling study on DNA. For every
model size of ``sweep.sizes`` and context length 2**k of ``sweep.log2_lengths``, train a
language model for ``trainer.max_steps`` steps of ``sweep.tokens_per_step`` tokens (batch =
tokens_per_step / length), then measure its validation loss.

Run folder: config.yaml; scale.csv, one row per run (length, log2_length, d_model, n_layer,
params, batch_size, steps, tokens_per_s, peak_memory_mb, memory_measure, val_loss,
val_bits_per_base, status), rewritten after every run; loss_vs_length.png,
throughput_vs_length.png, memory_vs_length.png, one line per model size; runs/<run>/logs.

tokens_per_s: training tokens over the wall time of the steps after the first (which pays
for compilation and warm-up; with one step, that step). peak_memory_mb: on a GPU
torch.cuda.max_memory_allocated during training; on a CPU the peak growth of the C heap's
bytes in use during training (glibc mallinfo2; see pipelines.memory; memory_measure says which). A run that runs out of GPU
memory is recorded with status "oom" and the sweep goes on."""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import lightning as L
import torch

from mambaseq.core import ConfigError, MambaConfig

from ..config import TrainingJobConfig, add_config_arguments, load_config
from ..data.dna_windows import DNADataConfig, DNAWindowsDataModule
from ..evaluation.peak_memory import PeakMemory
from ..evaluation.reports import line_plot, markdown_table, write_csv
from ..training.language_model import LMModule
from ..training.run_folder import plan_run, start_run
from ..training.trainer import make_trainer


@dataclass
class ModelSize:
    """One model size of the sweep; the other shape keys come from the config's ``model``."""

    d_model: int = 64
    n_layer: int = 2


@dataclass
class SweepConfig:
    """Every (size, length) pair is one run of ``trainer.max_steps`` steps on batches of
    ``tokens_per_step // 2**log2_length`` windows of 2**log2_length bases."""

    log2_lengths: list[int] = field(default_factory=lambda: [10, 12, 14])
    sizes: list[ModelSize] = field(default_factory=lambda: [ModelSize()])
    tokens_per_step: int = 2 ** 16

    def __post_init__(self) -> None:
        if not self.log2_lengths or not self.sizes:
            raise ConfigError("sweep.log2_lengths and sweep.sizes must not be empty")
        if any(not 1 <= k <= 30 for k in self.log2_lengths):
            raise ConfigError(f"sweep.log2_lengths must lie in [1, 30], got {self.log2_lengths}")
        longest = 2 ** max(self.log2_lengths)
        if self.tokens_per_step < longest:
            raise ConfigError(f"sweep.tokens_per_step = {self.tokens_per_step} is less than the "
                              f"longest length 2^{max(self.log2_lengths)} = {longest}: raise it "
                              f"(a step holds at least one window)")


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


def one_run(cfg: ScaleJobConfig, size: ModelSize, log2_length: int, root: Path,
            plain: dict[str, Any]) -> dict[str, Any]:
    """Train and validate one (size, length) run; returns its CSV row."""
    length = 2 ** log2_length
    batch = cfg.sweep.tokens_per_step // length
    steps = cfg.trainer.max_steps
    model = replace(cfg.model, d_model=size.d_model, n_layer=size.n_layer)
    data_cfg = replace(cfg.data, seq_len=length, batch_size=batch,
                       train_windows_per_epoch=steps * batch)
    name = f"L{length}_d{size.d_model}_n{size.n_layer}"
    tr = cfg.trainer
    L.seed_everything(tr.seed, workers=True, verbose=False)
    data = DNAWindowsDataModule(data_cfg, seed=tr.seed)
    data.setup("fit")
    module = LMModule(model=model.to_dict(), optim=asdict(cfg.optim), max_steps=steps,
                      run_config=plain)
    params = sum(p.numel() for p in module.model.parameters())
    row = {"length": length, "log2_length": log2_length, "d_model": size.d_model,
           "n_layer": size.n_layer, "params": params, "batch_size": batch, "steps": steps,
           "tokens_per_s": math.nan, "peak_memory_mb": math.nan, "memory_measure": "",
           "val_loss": math.nan, "val_bits_per_base": math.nan, "status": "ok"}
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
    """The three PNGs of the study: one line per model size against length (log2 axis)."""
    by_size: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        label = size_label(ModelSize(row["d_model"], row["n_layer"]), row["params"])
        by_size.setdefault(label, []).append(row)
    measure = rows[0]["memory_measure"]

    def series(key: str) -> dict[str, tuple[list[float], list[float]]]:
        return {label: ([r["length"] for r in rs], [r[key] for r in rs]) for label, rs in by_size.items()}

    return [
        line_plot(root / "loss_vs_length.png", series("val_bits_per_base"), "context length (bases)",
                  "validation bits per base", "Validation loss vs context length"),
        line_plot(root / "throughput_vs_length.png", series("tokens_per_s"), "context length (bases)",
                  "training tokens / s", "Training throughput vs context length"),
        line_plot(root / "memory_vs_length.png", series("peak_memory_mb"), "context length (bases)",
                  f"peak memory (MiB, {measure})", "Peak training memory vs context length"),
    ]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the sweep; returns the CSV rows."""
    cfg, resolved = load_config(ScaleJobConfig, args.config, args.overrides)
    plan = plan_run(replace(cfg.trainer, resume=False), resolved)   # a sweep does not resume
    longest = 2 ** max(cfg.sweep.log2_lengths)             # the data must serve every run
    DNAWindowsDataModule(replace(cfg.data, seq_len=longest, batch_size=1), seed=0).setup("fit")
    start_run(plan, resolved)
    root, plain = plan.dir, plan.config
    rows: list[dict[str, Any]] = []
    for size in cfg.sweep.sizes:
        for log2_length in cfg.sweep.log2_lengths:
            print(f"[mambaseq] scale: d_model {size.d_model}, {size.n_layer} layers, "
                  f"length 2^{log2_length}")
            rows.append(one_run(cfg, size, log2_length, root, plain))
            write_csv(root / "scale.csv", rows)
    plots = plot_sweep(rows, root)
    print(markdown_table(rows))
    print(f"[mambaseq] {root / 'scale.csv'}; plots: {', '.join(str(p) for p in plots)}")
    return rows
