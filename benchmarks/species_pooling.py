"""Which pooling lets the species classifier read a composition signal? Two synthetic species of
i.i.d. bases that differ only in GC fraction (default 0.40 against 0.44, so a window's GC
count is the whole signal), classified by `mambaseq finetune` with the great-apes recipe
(configs/dna/great_apes_1k.yaml: causal Mamba, rc augmentation, half the steps warm-up) at a
CPU-sized model, once per pooling and learning rate. The best any classifier can do is the
GC-count threshold's accuracy, printed beside each run. A diagnostic for the species table of
issue 16, where every last-position run stayed at chance.

    python -m benchmarks.species_pooling [--gc 0.40 0.44] [--seq-len 1024] [--steps 300]
        [--poolings last mean] [--lrs 1e-4 1e-3] [--out OUT]

CPU, float32, model d_model 32 x 2 blocks, batch 16, 128 validation windows a species; about
2 minutes a run on two cores. Prints a markdown table; with --out also OUT/species_pooling.csv
and .md, and each run's folder under OUT/runs.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from mambaseq.pipelines.arguments import non_negative_float, positive_int, probability
from mambaseq.pipelines.cli import main as mambaseq
from mambaseq.pipelines.evaluation.reports import markdown_table, write_csv

RECIPE = Path(__file__).resolve().parents[1] / "configs" / "dna" / "great_apes_1k.yaml"


def write_composition_species(root: Path, gc_by_species: dict[str, float], train_bases: int,
                              val_bases: int, seed: int = 0) -> None:
    """root/train and root/val, one single-record FASTA per species: ``train_bases`` and
    ``val_bases`` i.i.d. bases, G and C each with probability gc / 2, A and T (1 - gc) / 2."""
    g = torch.Generator().manual_seed(seed)
    for split, n in (("train", train_bases), ("val", val_bases)):
        (root / split).mkdir(parents=True, exist_ok=True)
        for name, gc in gc_by_species.items():
            probs = torch.tensor([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
            codes = torch.multinomial(probs, n, replacement=True, generator=g)
            seq = bytes(b"ACGT"[i] for i in codes.tolist()).decode()
            (root / split / f"{name}.fa").write_text(f">{name}\n{seq}\n")


def threshold_accuracy(gc_low: float, gc_high: float, length: int) -> float:
    """Accuracy of the Bayes classifier (equal priors) on one window of ``length`` i.i.d.
    bases: it sees the GC count k ~ Binomial(length, gc) and picks the likelier species."""
    k = torch.arange(length + 1, dtype=torch.float64)
    low = torch.distributions.Binomial(length, probs=torch.tensor(gc_low, dtype=torch.float64))
    high = torch.distributions.Binomial(length, probs=torch.tensor(gc_high, dtype=torch.float64))
    return 0.5 * torch.maximum(low.log_prob(k).exp(), high.log_prob(k).exp()).sum().item()


def run(data: Path, out: Path, pooling: str, lr: float, seq_len: int, steps: int) -> dict:
    """One `mambaseq finetune` run on the synthetic species; its table row."""
    name = f"{pooling}-lr{lr:g}"
    overrides = [f"data.train_dir={data / 'train'}", f"data.val_dir={data / 'val'}",
                 f"data.seq_len={seq_len}", "data.batch_size=16", "data.num_workers=0",
                 "data.val_windows_per_species=128", "model.d_model=32", "model.n_layer=2",
                 f"classifier.pooling={pooling}", f"optim.lr={lr}",
                 f"optim.warmup_steps={steps // 2}", f"trainer.max_steps={steps}",
                 f"trainer.val_every_n_steps={steps}", f"trainer.checkpoint_every_n_steps={steps}",
                 "trainer.accelerator=cpu", "trainer.precision=32-true",
                 "trainer.progress_bar=false", f"trainer.output_dir={out}",
                 f"trainer.run_name={name}"]
    started = time.time()
    if mambaseq(["finetune", str(RECIPE), *overrides]) != 0:
        raise SystemExit(f"species_pooling: the {name} run failed")
    metrics = json.loads((out / name / "metrics.json").read_text())
    return {"pooling": pooling, "lr": f"{lr:g}", "steps": steps, "seq_len": seq_len,
            "val_accuracy": f"{metrics['val_accuracy']:.4f}",
            "val_f1_macro": f"{metrics['val_f1_macro']:.4f}",
            "chance": f"{metrics['chance']:.4f}", "seconds": f"{time.time() - started:.0f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gc", type=probability, nargs=2, default=[0.40, 0.44],
                        metavar=("LOW", "HIGH"), help="GC fraction of the two species")
    parser.add_argument("--seq-len", type=positive_int, default=1024)
    parser.add_argument("--steps", type=positive_int, default=300)
    parser.add_argument("--poolings", nargs="+", choices=["last", "mean", "max"],
                        default=["last", "mean"])
    parser.add_argument("--lrs", type=non_negative_float, nargs="+", default=[1e-4, 1e-3])
    parser.add_argument("--out", type=Path, help="folder for species_pooling.csv, .md, runs/")
    args = parser.parse_args()
    low, high = args.gc
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        write_composition_species(data, {f"gc{low:g}": low, f"gc{high:g}": high},
                                  train_bases=1_000_000, val_bases=200_000)
        runs = (args.out or Path(scratch)) / "runs"
        rows = [run(data, runs, pooling, lr, args.seq_len, args.steps)
                for pooling in args.poolings for lr in args.lrs]
    best = threshold_accuracy(low, high, args.seq_len)
    for row in rows:
        row["gc_count_threshold"] = f"{best:.4f}"
    table = markdown_table(rows)
    print(table)
    if args.out is not None:
        write_csv(args.out / "species_pooling.csv", rows)
        (args.out / "species_pooling.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
