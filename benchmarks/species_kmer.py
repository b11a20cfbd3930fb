"""What a species classifier can reach without a neural network: k-mer counts of each window
and a logistic regression (scikit-learn), on the same training draw and the same fixed
validation windows as `mambaseq finetune` (pipelines.data.species_windows). A yardstick for
the species table of issue 16: where this baseline is at chance, a model trained from scratch
at that window length has little to find in base composition alone.

    python -m benchmarks.species_kmer APES_DIR [--lengths 1024 16384] [--k 6]
        [--train-windows 4096] [--out OUT]

APES_DIR holds train/ and val/ with one FASTA per species. Training windows: balanced over
species, reverse-complemented half the time (as ``data.rc_augment=true``); k-mers are counted
canonically (a k-mer and its reverse complement are one feature), windows normalised to
frequencies, standardised. Prints a markdown table (length, k, windows, validation accuracy,
macro-F1, chance) and, with --out, writes OUT/species_kmer.csv and .md. CPU only; 4,096
windows of 16 kb take about a minute on two cores.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mambaseq.biomamba import DNATokenizer, RandomWindows
from mambaseq.pipelines.data.species_windows import SpeciesDataConfig, SpeciesDataModule
from mambaseq.pipelines.evaluation.reports import markdown_table, write_csv

FIRST_BASE_ID = DNATokenizer().token_id("A")   # then C, G, T, N in order


def canonical_index(k: int) -> np.ndarray:
    """(4**k,) int64: for every k-mer code (base-4, A=0 .. T=3, first base most significant),
    the index of its canonical class (the smaller code of itself and its reverse complement),
    renumbered 0 .. classes - 1."""
    codes = np.arange(4 ** k)
    digits = (codes[:, None] // 4 ** np.arange(k - 1, -1, -1)) % 4      # (4**k, k)
    rc = ((3 - digits[:, ::-1]) * 4 ** np.arange(k - 1, -1, -1)).sum(1)
    canonical = np.minimum(codes, rc)
    return np.unique(canonical, return_inverse=True)[1]


def kmer_frequencies(ids: np.ndarray, valid: int, k: int, classes: np.ndarray) -> np.ndarray:
    """(classes.max() + 1,) float64: canonical k-mer frequencies of one window's first
    ``valid`` token ids; k-mers holding N (or padding) are skipped."""
    bases = ids[:valid] - FIRST_BASE_ID
    good = (bases >= 0) & (bases < 4)
    counts = np.zeros(classes.max() + 1)
    if valid < k:
        return counts
    windows = np.lib.stride_tricks.sliding_window_view(bases, k)
    usable = np.lib.stride_tricks.sliding_window_view(good, k).all(1)
    codes = (windows[usable] * 4 ** np.arange(k - 1, -1, -1)).sum(1)
    np.add.at(counts, classes[codes], 1.0)
    return counts / max(counts.sum(), 1.0)


def features(module: SpeciesDataModule, windows: list, k: int, classes: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """(len(windows), features) float64 k-mer frequencies and (len(windows),) class ids."""
    rows, labels = [], []
    for window in windows:
        ids, valid, label = module.dataset[window]
        rows.append(kmer_frequencies(ids.numpy(), valid, k, classes))
        labels.append(label)
    return np.stack(rows), np.array(labels)


def evaluate(apes: Path, length: int, k: int, train_windows: int, seed: int) -> dict:
    """One table row: fit on ``train_windows`` balanced random windows, score on the fixed
    validation windows (64 per species, ``val_seed`` 1234, as the shipped configs)."""
    cfg = SpeciesDataConfig(train_dir=str(apes / "train"), val_dir=str(apes / "val"),
                            seq_len=length, rc_augment=True)
    module = SpeciesDataModule(cfg, seed)
    module.setup()
    classes = canonical_index(k)
    sampler = RandomWindows(module.split.train, length, train_windows, seed,
                            groups=module.split.train_groups, rc_prob=0.5, keep=module.keep)
    t = time.time()
    x_train, y_train = features(module, list(sampler), k, classes)
    x_val, y_val = features(module, module.val_windows, k, classes)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    model.fit(x_train, y_train)
    predicted = model.predict(x_val)
    return {"length": length, "k": k, "train_windows": train_windows,
            "val_windows": len(y_val),
            "train_accuracy": f"{accuracy_score(y_train, model.predict(x_train)):.4f}",
            "val_accuracy": f"{accuracy_score(y_val, predicted):.4f}",
            "val_f1_macro": f"{f1_score(y_val, predicted, average='macro'):.4f}",
            "chance": f"{1 / len(module.classes):.4f}", "seconds": f"{time.time() - t:.0f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apes", type=Path, help="folder with train/ and val/ species FASTA")
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 16384])
    parser.add_argument("--k", type=int, nargs="+", default=[6])
    parser.add_argument("--train-windows", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="folder for species_kmer.csv and .md")
    args = parser.parse_args()
    rows = [evaluate(args.apes, length, k, args.train_windows, args.seed)
            for length in args.lengths for k in args.k]
    table = markdown_table(rows)
    print(table)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_csv(args.out / "species_kmer.csv", rows)
        (args.out / "species_kmer.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
