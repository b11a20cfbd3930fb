"""Scoring trained DNA models: a language model's bits per base on fixed windows, and a
species classifier's accuracy, macro-F1 and confusion matrix on seeded random windows of one
FASTA per species. ``mambaseq evaluate`` chooses the windows and files."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from .classification_metrics import classification_metrics
from .species import whole_records
from .tokenizer import DNATokenizer
from .windows import FastaWindows, LabelledWindows, NFilter, RandomWindows, Window


@torch.no_grad()
def bits_per_base(model: nn.Module, windows: list[Window], length: int, batch_size: int,
                  device: str) -> float:
    """Mean next-base negative log-likelihood in bits of a DNA language model over
    ``windows`` of ``length`` bases each (the model reads length - 1 and predicts the next)."""
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
    return total / count / math.log(2)


@torch.no_grad()
def species_scores(model: nn.Module, files: dict[str, Path], classes: list[str], length: int,
                   windows_per_species: int, seed: int, batch_size: int, device: str
                   ) -> tuple[dict[str, float], np.ndarray]:
    """({"accuracy", "f1_macro", "windows"}, confusion matrix (classes, classes) int64, rows =
    true class) of a species classifier ``model(ids, lengths) -> logits`` on
    ``windows_per_species`` random windows of ``length`` bases (seed + class index) from
    ``files[label]`` for each label of ``classes`` (the classifier's class order)."""
    keep, windows = NFilter(0.5), []
    for k, label in enumerate(classes):
        windows += list(RandomWindows(whole_records(files[label]), length, windows_per_species,
                                      seed + k, keep=keep))
    labels = {str(files[label]): k for k, label in enumerate(classes)}
    loader = DataLoader(LabelledWindows(length, DNATokenizer(), labels), batch_size=batch_size,
                        sampler=windows)
    model = model.to(device)
    preds, targets = [], []
    for ids, lengths, y in tqdm(loader, desc=f"classifying {len(windows)} windows",
                                file=sys.stderr):
        preds.append(model(ids.to(device), lengths.to(device)).argmax(-1).cpu())
        targets.append(y)
    metrics, confusion = classification_metrics(torch.cat(targets).numpy(),
                                                torch.cat(preds).numpy(), len(classes))
    return {**metrics, "windows": len(windows)}, confusion
