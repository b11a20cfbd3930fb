"""Synthesised audio for the tests: no espeak-ng on CI, so SC09-style "digits" are tones."""
import math
from pathlib import Path

import torch

from mambaseq.audiomamba import DIGITS, save_wav


def tone(freq: float, seconds: float, rate: int = 16000, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    return amplitude * torch.sin(2 * math.pi * freq * t)


def make_sc09(root: Path, speakers: int = 5, extra_words: bool = True) -> Path:
    """An SC09-style corpus in the Speech Commands layout: digit d is a tone of 300 + 150 d Hz
    (0.6-1.2 s, varying per speaker). Speaker 0 is listed for validation, speaker 1 for test,
    the rest are train; a non-digit word folder and list entries are added as distractors."""
    val, test = [], []
    for d, word in enumerate(DIGITS):
        for s in range(speakers):
            rel = f"{word}/spk{s:02d}_nohash_0.wav"
            seconds = 0.6 + 0.15 * s
            save_wav(root / rel, tone(300 + 150 * d, seconds, amplitude=0.3 + 0.1 * (s % 4)))
            (val if s == 0 else test if s == 1 else []).append(rel)
    if extra_words:
        save_wav(root / "yes" / "spk00_nohash_0.wav", tone(200, 1.0))
        val.append("yes/spk00_nohash_0.wav")
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    return root
