"""Scoring trained DNA models: a language model's bits per base on fixed windows of a split
(or of any FASTA file), a species classifier's accuracy, macro-F1 and confusion matrix on a
species folder. Used by ``mambaseq evaluate``."""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch.utils.data import DataLoader
from tqdm import tqdm

from mambaseq.biomamba import (DNATokenizer, FastaWindows, LabelledWindows, NFilter, RandomWindows,
                               bed_regions, tiled_windows)
from mambaseq.biomamba.species import species_files, whole_records
from mambaseq.core import ModelFileError

from .config import ConfigFileError, DNADataConfig
from .dna_data import lm_regions
from .species_metrics import classification_metrics


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


@torch.no_grad()
def lm_bits_per_base(model: nn.Module, extra: dict[str, Any], split: str, fasta: str | None,
                     max_windows: int | None, batch_size: int, device: str) -> tuple[float, int]:
    """(mean next-base NLL in bits, windows) of a DNA language model on non-overlapping
    windows of its training length: of every record of ``fasta`` when given, else of the
    run's ``split`` ("train", "validation", or "test" = the BED file's test intervals).
    Windows more than the run's max_n_fraction N are left out. A model without a run config
    is scored on ``fasta`` with the default window length."""
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
    loader = DataLoader(FastaWindows(length, DNATokenizer()), batch_size=batch_size,
                        sampler=windows)
    total, count = 0.0, 0
    model = model.to(device)
    for batch in tqdm(loader, desc=f"bits per base ({len(windows)} windows)", file=sys.stderr):
        batch = batch.to(device)
        logits = model(batch[:, :-1])
        total += float(F.cross_entropy(logits.float().flatten(0, 1), batch[:, 1:].flatten(),
                                       reduction="sum"))
        count += batch[:, 1:].numel()
    return total / count / math.log(2), len(windows)


@torch.no_grad()
def classifier_scores(model: nn.Module, extra: dict[str, Any], species_dir: str,
                      windows_per_species: int, seed: int, batch_size: int, device: str
                      ) -> tuple[dict[str, float], np.ndarray, list[str]]:
    """({"accuracy", "f1_macro", "windows"}, confusion matrix, classes) of a species
    classifier on ``windows_per_species`` seeded random windows of its window length from
    each FASTA of ``species_dir`` (the file names must be the classifier's classes)."""
    classes = extra.get("classes")
    if not classes or "window" not in extra:
        raise ModelFileError("not a species classifier (no classes and window in its metadata)")
    files = species_files(species_dir)
    if sorted(files) != sorted(classes):
        raise ConfigFileError(f"{species_dir}: species {sorted(files)} differ from the "
                              f"classifier's classes {sorted(classes)}")
    length, keep = extra["window"], NFilter(0.5)
    windows = []
    for k, label in enumerate(classes):
        windows += list(RandomWindows(whole_records(files[label]), length, windows_per_species,
                                      seed + k, keep=keep))
    labels = {str(files[label]): k for k, label in enumerate(classes)}
    loader = DataLoader(LabelledWindows(length, DNATokenizer(), labels), batch_size=batch_size,
                        sampler=windows)
    model = model.to(device)
    preds, targets = [], []
    for ids, lengths, y in tqdm(loader, desc=f"classifying {len(windows)} windows", file=sys.stderr):
        preds.append(model(ids.to(device), lengths.to(device)).argmax(-1).cpu())
        targets.append(y)
    metrics, confusion = classification_metrics(torch.cat(targets).numpy(),
                                                torch.cat(preds).numpy(), len(classes))
    return {**metrics, "windows": len(windows)}, confusion, list(classes)
