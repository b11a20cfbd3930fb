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
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import lightning as L
import torch

from ..config import load_config
from ..dna_data import DNAWindowsDataModule
from ..lm_module import LMModule
from ..memory import PeakMemory
from ..plots import line_plot, markdown_table, write_csv
from ..scale_config import ModelSize, ScaleJobConfig
from ..training import make_trainer, start_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML sweep config, e.g. configs/scale/dna_demo.yaml")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="config overrides, e.g. 'sweep.log2_lengths=[8,10]' "
                             "trainer.max_steps=5 data.fasta=my.fa")


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
    root, plain = start_run(cfg.trainer, resolved)
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
