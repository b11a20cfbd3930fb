"""``mambaseq evaluate``: score a trained model (DNA or audio) and generated audio.

DNA (``biomamba.evaluation``):
- ``--checkpoint`` of a language model: bits per base on fixed windows of the run's split
  (validation or train; test = the BED file's test intervals), or of ``--fasta FILE``.
- ``--checkpoint`` of a species classifier with ``--species-dir DIR``: accuracy, macro-F1
  and the confusion matrix (CSV, PNG) on seeded windows of each species' FASTA.

Audio:
- ``--checkpoint RUN/model.pt``: negative log-likelihood of the run's data split (test by
  default) in bits per sample.
- ``--samples DIR --classifier classifier.pt --sc09 ROOT``: FID, IS, mIS and AM of the clips
  in DIR, computed as in SaShiMi's evaluation from the digit classifier's probabilities and
  penultimate features with the SC09 train split as reference; the SC09 test clips get the
  same scores (the ceiling a perfect generator would reach) and the classifier's accuracy.

Prints a table and writes it as CSV (one row per set: test, generated)."""
from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from mambaseq.audiomamba import (CLIP_SAMPLES, SC09Clips, audio_files, fit_length, load_audio,
                                 load_classifier, sample_scores)
from mambaseq.biomamba import NFilter, Window, bed_regions, species_files, tiled_windows
from mambaseq.biomamba.classification_metrics import write_confusion_matrix
from mambaseq.biomamba.evaluation import bits_per_base, species_scores
from mambaseq.biomamba.species import whole_records
from mambaseq.core import BidirectionalClassifier, MambaClassifier, ModelFileError

from ..arguments import default_device, device, positive_int, refuse_other_domain
from ..config import ConfigFileError, UsageError
from ..outputs import add_overwrite_argument, check_outputs
from ..data.audio_tokens import AudioDataConfig, AudioTokensDataModule
from ..data.dna_windows import DNADataConfig, lm_regions
from ..domains import check_dna_vocab, model_domain
from ..training.trained_model import load_trained_model

COLUMNS = ("set", "clips", "bits_per_sample", "accuracy", "fid", "is", "mis", "am")
WINDOWS_PER_SPECIES, SPECIES_SEED = 64, 1234
OUTPUT = "evaluation.csv"                        # the default CSV's name
DOMAIN_OPTIONS = {"--fasta": "dna", "--max-windows": "dna", "--species-dir": "dna",
                  "--windows-per-species": "dna", "--seed": "dna", "--data-root": "audio"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="an audio model (model.pt or .ckpt): report its NLL")
    parser.add_argument("--split", default=None, choices=("train", "validation", "test"),
                        help="the run's data split to score (default: validation for DNA, "
                             "test for audio; DNA test = the BED file's test intervals)")
    parser.add_argument("--data-root", help="the run's data folder, if it moved since training")
    parser.add_argument("--samples", help="a folder of generated WAV clips to score")
    parser.add_argument("--classifier", help="classifier.pt written by mambaseq sc09-classifier")
    parser.add_argument("--sc09", help="the SC09 folder: train split = reference, test = ceiling")
    parser.add_argument("--output", help="CSV to write (default: evaluation.csv beside the "
                                         "samples or the checkpoint; a classifier's confusion "
                                         "matrix goes beside it as "
                                         "OUTPUT_confusion_matrix.csv/png)")
    add_overwrite_argument(parser)
    parser.add_argument("--fasta", help="DNA language model: score every record of this FASTA")
    parser.add_argument("--max-windows", type=positive_int, default=None,
                        help="DNA language model: score at most this many windows")
    parser.add_argument("--species-dir", help="DNA classifier: a folder with one FASTA per class")
    parser.add_argument("--windows-per-species", type=positive_int, default=None,
                        help=f"DNA classifier: seeded random windows per species (default: "
                             f"{WINDOWS_PER_SPECIES})")
    parser.add_argument("--seed", type=int, default=None,
                        help=f"DNA classifier: window seed (default: {SPECIES_SEED})")
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--device", type=device, default=default_device(),
                        help="cpu, cuda or cuda:N (default: %(default)s)")


@torch.no_grad()
def test_bits_per_sample(args: argparse.Namespace, model: torch.nn.Module, extra: dict,
                         split: str) -> tuple[float, int]:
    """(mean NLL in bits per predicted sample, sequences) of an audio model on ``split``."""
    data_cfg = dict(extra["run_config"]["data"])
    if args.data_root:
        data_cfg["root"] = args.data_root
    data = AudioTokensDataModule(AudioDataConfig(**data_cfg), seed=0)
    model = model.to(args.device)
    total, count, sequences = 0.0, 0, 0
    for batch in tqdm(data.dataloader(split), desc=f"NLL on {split}", file=sys.stderr):
        batch = batch.to(args.device)
        logits = model(batch[:, :-1])
        total += float(F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].flatten(),
                                       reduction="sum"))
        count += batch[:, 1:].numel()
        sequences += batch.shape[0]
    return total / count / math.log(2), sequences


class _Clips(Dataset):
    """Generated clips, each fitted to one second: item i -> (wave (16000,), -1)."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return fit_length(load_audio(self.files[index]), CLIP_SAMPLES), -1


@torch.no_grad()
def classify(model: torch.nn.Module, clips: Dataset, batch_size: int, device: str, desc: str
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(probabilities (n, 10), penultimate features (n, d), labels (n,)) of a clip dataset."""
    probs, feats, labels = [], [], []
    for waves, digits in tqdm(DataLoader(clips, batch_size=batch_size), desc=desc, file=sys.stderr):
        features = model.features(waves.to(device))
        probs.append(model.head(features).softmax(-1).cpu())
        feats.append(features.cpu())
        labels.append(digits)
    return torch.cat(probs), torch.cat(feats), torch.cat(labels)


def run_data_config(extra: dict[str, Any], fasta: str | None = None) -> DNADataConfig:
    """The DNA data config a model was trained with (from its metadata); for a model without
    one (e.g. a Hugging Face directory from elsewhere) and a ``fasta`` to score, the default
    windows (``DNADataConfig``'s seq_len and max_n_fraction) of that file."""
    data = (extra.get("run_config") or {}).get("data")
    if not data and fasta is not None:
        return DNADataConfig(fasta=fasta)
    if not data:
        raise ModelFileError("model metadata holds no training data config; give --fasta FILE "
                             "to score it on a file")
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(DNADataConfig), data))


def lm_windows(extra: dict[str, Any], split: str, fasta: str | None,
               max_windows: int | None) -> tuple[list[Window], int]:
    """(windows, window length) to score a DNA language model on: non-overlapping windows of
    its training length, of every record of ``fasta`` when given, else of the run's ``split``
    ("train", "validation", or "test" = the BED file's test intervals); windows with more N
    than the run's max_n_fraction are left out. A model without a run config is scored on
    ``fasta`` with the default window length."""
    cfg = run_data_config(extra, fasta)
    length = cfg.seq_len + 1
    if fasta is not None:
        regions = whole_records(Path(fasta))
    elif split == "test":
        if cfg.bed is None:
            raise ConfigFileError("--split test needs a run trained with data.bed (its test "
                                  "intervals); give --fasta to score another file")
        regions = bed_regions(cfg.bed, cfg.fasta, "test")
    else:
        train, val = lm_regions(cfg)
        regions = train if split == "train" else val
    windows = tiled_windows(regions, length, max_windows, keep=NFilter(cfg.max_n_fraction))
    if not windows:
        raise ConfigFileError(f"{fasta or cfg.fasta}: no window of {length} bases to score")
    return windows, length


def species_classifier_scores(model: torch.nn.Module, extra: dict[str, Any],
                              args: argparse.Namespace) -> tuple[dict[str, float], Any, list[str]]:
    """Scores and confusion matrix of a species classifier on ``--species-dir``, whose FASTA
    files must be named after the classifier's classes."""
    classes = extra.get("classes")
    if not classes or "window" not in extra:
        raise ModelFileError("not a species classifier (no classes and window in its metadata)")
    files = species_files(args.species_dir)
    if sorted(files) != sorted(classes):
        raise ConfigFileError(f"{args.species_dir}: species {sorted(files)} differ from the "
                              f"classifier's classes {sorted(classes)}")
    scores, confusion = species_scores(model, files, list(classes), extra["window"],
                                       args.windows_per_species or WINDOWS_PER_SPECIES,
                                       SPECIES_SEED if args.seed is None else args.seed,
                                       args.batch_size, args.device)
    return scores, confusion, list(classes)


def run_dna(args: argparse.Namespace, model: torch.nn.Module, extra: dict
            ) -> dict[str, dict[str, float]]:
    """Score a DNA language model or species classifier; print and write the CSV (and the
    confusion matrix beside it)."""
    output = Path(args.output) if args.output else Path(args.checkpoint).resolve().parent / OUTPUT
    inputs = [args.checkpoint, args.fasta]
    if isinstance(model, (MambaClassifier, BidirectionalClassifier)):
        if not args.species_dir:
            raise UsageError("a classifier is scored on --species-dir (one FASTA per class)")
        if args.split or args.fasta or args.max_windows:
            raise UsageError("--split, --fasta and --max-windows score a language model; a "
                             "classifier is scored on --species-dir")
        matrix = f"{output.stem}_confusion_matrix"
        check_outputs([output, output.parent / f"{matrix}.csv", output.parent / f"{matrix}.png"],
                      inputs, args.overwrite)
        scores, confusion, classes = species_classifier_scores(model, extra, args)
        row = {"set": str(args.species_dir), **scores}
        write_confusion_matrix(confusion, classes, output.parent,
                               title=f"accuracy {scores['accuracy']:.3f}", name=matrix)
    else:
        if args.species_dir or args.windows_per_species or args.seed is not None:
            raise UsageError("--species-dir, --windows-per-species and --seed score a classifier; "
                             f"{args.checkpoint} is a language model")
        check_outputs([output], inputs, args.overwrite)
        check_dna_vocab(model, args.checkpoint)
        windows, length = lm_windows(extra, args.split or "validation", args.fasta,
                                     args.max_windows)
        bits = bits_per_base(model, windows, length, args.batch_size, args.device)
        row = {"set": args.fasta or args.split or "validation", "windows": len(windows),
               "bits_per_base": bits}
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    print("| " + " | ".join(row) + " |\n|" + "---|" * len(row))
    print("| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values())
          + " |")
    print(f"[mambaseq] metrics: {output}")
    return {row["set"]: row}


def run(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Compute, print and write the metrics; returns {set: {column: value}}."""
    if not args.checkpoint and not args.samples:
        raise UsageError("give --checkpoint (NLL) and/or --samples with --classifier and --sc09")
    if args.checkpoint:
        model, extra = load_trained_model(args.checkpoint, expect=None)
        domain = model_domain(extra)[0].name
        refuse_other_domain(args, domain, DOMAIN_OPTIONS, args.checkpoint)
        if domain == "dna":
            if args.samples or args.classifier or args.sc09:
                raise UsageError("--samples, --classifier and --sc09 score generated audio; "
                                 f"{args.checkpoint} is a DNA model")
            return run_dna(args, model, extra)
    if args.samples and not (args.classifier and args.sc09):
        raise UsageError("--samples needs --classifier and --sc09")
    output = Path(args.output) if args.output else \
        Path(args.samples or Path(args.checkpoint).resolve().parent) / OUTPUT
    check_outputs([output], [args.checkpoint, args.classifier], args.overwrite)
    rows: dict[str, dict[str, float]] = {}
    if args.checkpoint:
        split = args.split or "test"
        bits, sequences = test_bits_per_sample(args, model, extra, split)
        rows[split] = {"clips": sequences, "bits_per_sample": bits}
    if args.samples:
        classifier, _ = load_classifier(args.classifier)
        classifier = classifier.to(args.device)
        bs, dev = args.batch_size, args.device
        ref_probs, ref_feats, _ = classify(classifier, SC09Clips(args.sc09, "train"), bs, dev, "SC09 train")
        test_probs, test_feats, test_labels = classify(classifier, SC09Clips(args.sc09, "test"), bs, dev,
                                                       "SC09 test")
        gen_probs, gen_feats, _ = classify(classifier, _Clips(audio_files(args.samples)), bs, dev,
                                           "generated")
        accuracy = float((test_probs.argmax(-1) == test_labels).float().mean())
        rows.setdefault("test", {}).update(clips=len(test_labels), accuracy=accuracy,
                                           **sample_scores(ref_probs, ref_feats, test_probs, test_feats))
        rows["generated"] = {"clips": len(gen_probs),
                             **sample_scores(ref_probs, ref_feats, gen_probs, gen_feats)}
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for name, values in rows.items():
            writer.writerow({"set": name, **values})
    print("  ".join(f"{c:>15}" for c in COLUMNS))
    for name, values in rows.items():
        cells = [name] + [values.get(c, "") for c in COLUMNS[1:]]
        print("  ".join(f"{c:>15.4f}" if isinstance(c, float) else f"{c!s:>15}" for c in cells))
    print(f"[mambaseq] metrics: {output}")
    return rows
