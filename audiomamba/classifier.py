"""The SC09 digit classifier that scores generated clips (FID, IS, mIS, AM use its logits and
penultimate features), and its model file.

Architecture: log-mel spectrogram (torchaudio; 25 ms windows, 10 ms hop, 40 mel bands,
log(mel + 1e-6)), a BatchNorm over the input, four blocks of 3x3 conv -> BatchNorm -> ReLU ->
2x2 max-pool with 32, 64, 128, 128 channels, global average pooling -> the 128-d
penultimate features, dropout, a linear layer -> 10 logits. About 0.24M parameters.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from mambaseq.core import load_model, register_model_class

from .io import SAMPLE_RATE
from .stack import audio_module


@register_model_class
class DigitClassifier(nn.Module):
    """waves (batch, samples) float in [-1, 1] at ``sample_rate`` -> logits (batch, classes)."""

    def __init__(self, num_classes: int = 10, sample_rate: int = SAMPLE_RATE, n_mels: int = 40,
                 channels: tuple[int, ...] = (32, 64, 128, 128), dropout: float = 0.3) -> None:
        super().__init__()
        self.kwargs = {"num_classes": num_classes, "sample_rate": sample_rate, "n_mels": n_mels,
                       "channels": list(channels), "dropout": dropout}
        window = sample_rate * 25 // 1000
        transforms = audio_module("torchaudio.transforms")
        self.melspec = transforms.MelSpectrogram(sample_rate, n_fft=window, win_length=window,
                                                 hop_length=sample_rate // 100, n_mels=n_mels)
        self.input_norm = nn.BatchNorm2d(1)
        blocks, c_in = [], 1
        for c in channels:
            blocks += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in, num_classes))

    def features(self, waves: torch.Tensor) -> torch.Tensor:
        """waves (batch, samples) -> penultimate features (batch, channels[-1]) float32."""
        logmel = torch.log(self.melspec(waves.float()) + 1e-6)       # (batch, n_mels, frames)
        return self.blocks(self.input_norm(logmel.unsqueeze(1))).mean(dim=(2, 3))

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(waves))

    def model_kwargs(self) -> dict[str, Any]:
        """The constructor arguments: what a model file must store to rebuild it."""
        return dict(self.kwargs)


def load_classifier(path: str | Path) -> tuple[DigitClassifier, dict[str, Any]]:
    """(classifier in eval mode on the CPU, extra) from a model file (``core.save_model``, as
    ``mambaseq sc09-classifier`` writes it); ``ModelFileError`` names the file, also when it
    holds another kind of model."""
    return load_model(path, expect=DigitClassifier)
