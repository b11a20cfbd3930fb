"""Waveform datasets: SC09 in the Speech Commands layout, and any folder of audio files
(YouTubeMix, ...) split by file and cut into crops. Token ids come from a ``Codec``."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Sampler

from .codec import Codec
from .io import SAMPLE_RATE, AudioFileError, load_audio

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SC09_SPLITS = ("train", "validation", "test")
CLIP_SAMPLES = 16000
SPLIT_LISTS = {"validation": "validation_list.txt", "test": "testing_list.txt"}


def fit_length(wave: torch.Tensor, length: int) -> torch.Tensor:
    """(n,) -> (length,): zeros appended to a short wave, a long one cut."""
    return F.pad(wave, (0, length - wave.shape[0])) if wave.shape[0] < length else wave[:length]


def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        raise AudioFileError(f"{path}: missing; an SC09 / Speech Commands folder holds "
                             f"{' and '.join(SPLIT_LISTS.values())}")
    return {line.strip().replace("\\", "/") for line in path.read_text().splitlines() if line.strip()}


def sc09_split(root: str | Path, split: str) -> list[tuple[Path, int]]:
    """(file, digit) pairs of one split of an SC09 / Speech Commands folder, sorted by path.

    ``root`` holds one folder per word and ``validation_list.txt`` / ``testing_list.txt``
    (paths relative to ``root``); train is every digit clip in neither list. Only the words
    zero..nine are read (label = the digit); other word folders are ignored.
    """
    if split not in SC09_SPLITS:
        raise ValueError(f"split must be one of {SC09_SPLITS}, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise AudioFileError(f"{root}: no such SC09 folder")
    held_out = {name: _read_list(root / file) for name, file in SPLIT_LISTS.items()}
    items = []
    for label, word in enumerate(DIGITS):
        folder = root / word
        if not folder.is_dir():
            raise AudioFileError(f"{root}: no folder '{word}' (an SC09 folder has zero/ ... nine/)")
        for path in sorted(folder.glob("*.wav")):
            rel = f"{word}/{path.name}"
            where = next((name for name, listed in held_out.items() if rel in listed), "train")
            if where == split:
                items.append((path, label))
    if not items:
        raise AudioFileError(f"{root}: the SC09 {split} split holds no clips")
    return items


class SC09Clips(Dataset):
    """One SC09 split: item i -> (wave (16000,) float32, digit label int), each clip padded
    with silence (or cut) to exactly one second at 16 kHz."""

    def __init__(self, root: str | Path, split: str, sample_rate: int = SAMPLE_RATE) -> None:
        self.items = sc09_split(root, split)
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.items[index]
        return fit_length(load_audio(path, self.sample_rate), CLIP_SAMPLES), label


class ClipTokens(Dataset):
    """Clips as language-model sequences: item i -> ids (CLIP_SAMPLES + 1,) int64, one silent
    sample (``codec.silence_id``) then the clip's tokens; the model reads ids[:-1] and
    predicts the whole clip ids[1:]."""

    def __init__(self, clips: SC09Clips, codec: Codec) -> None:
        self.clips, self.codec = clips, codec

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> torch.Tensor:
        wave, _ = self.clips[index]
        return torch.cat([torch.tensor([self.codec.silence_id]), self.codec.encode(wave)])


def split_files(files: list[Path], val_fraction: float, test_fraction: float
                ) -> dict[str, list[Path]]:
    """Split sorted ``files`` by position: train first, then validation, then test (so a
    stream cut into consecutive files, like YouTubeMix, leaks nothing across splits). A
    positive fraction gets at least one file; train must keep at least one."""
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"data.{name} must be in [0, 1), got {value}")
    n = len(files)
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    n_train = n - n_val - n_test
    if n_train < 1:
        raise AudioFileError(f"{files[0].parent if files else '?'}: {n} file(s) cannot be split "
                             f"into train, validation ({n_val}) and test ({n_test}) files")
    return {"train": files[:n_train], "validation": files[n_train:n_train + n_val],
            "test": files[n_train + n_val:]}


class EncodedAudio(Dataset):
    """Whole files held in memory as token ids (uint8 for <= 256 levels: one byte a sample);
    item (file index, start) -> ids[start : start + length] as int64 (length,), and item
    (file index, start, n) -> the first n of them.

    ``join``: the files, in the order given, are one stream (YouTubeMix is one recording cut
    into consecutive one-minute files): they are concatenated into a single "file" 0, so
    crops may span the cuts and be longer than any one file."""

    def __init__(self, files: list[Path], codec: Codec, length: int,
                 sample_rate: int = SAMPLE_RATE, join: bool = False) -> None:
        dtype = torch.uint8 if codec.levels <= 256 else torch.int32
        self.files, self.length = list(files), length
        self.codes = [codec.encode(load_audio(f, sample_rate)).to(dtype) for f in self.files]
        if join and self.codes:
            self.codes = [torch.cat(self.codes)]

    @property
    def lengths(self) -> list[int]:
        """Samples per file."""
        return [c.shape[0] for c in self.codes]

    def __getitem__(self, key: tuple[int, ...]) -> torch.Tensor:
        i, start, n = key if len(key) == 3 else (*key, self.length)
        return self.codes[i][start:start + min(n, self.length)].long()


class RandomCrops(Sampler):
    """``num_samples`` random crops of ``length`` samples per epoch as (file index, start);
    files drawn in proportion to the crops they hold. Deterministic given (seed, epoch)."""

    def __init__(self, lengths: list[int], length: int, num_samples: int, seed: int) -> None:
        self.files = [i for i, n in enumerate(lengths) if n >= length]
        if not self.files:
            raise AudioFileError(f"no training file holds a crop of {length} samples "
                                 f"(longest: {max(lengths, default=0)}); lower data.seq_len, or "
                                 f"set data.join_files=true if the files are one stream")
        self.length, self.num_samples, self.seed, self.epoch = length, num_samples, seed, 0
        self.weights = torch.tensor([lengths[i] - length + 1 for i in self.files], dtype=torch.float64)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def _draw(self, g: torch.Generator, n: int) -> list[tuple[int, int]]:
        which = torch.multinomial(self.weights, n, replacement=True, generator=g)
        offsets = (torch.rand(n, generator=g, dtype=torch.float64) * self.weights[which]).long()
        return [(self.files[i], off) for i, off in zip(which.tolist(), offsets.tolist())]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        yield from self._draw(g, self.num_samples)

    def batch(self, step: int, size: int) -> list[tuple[int, int]]:
        """The ``size`` crops of training step ``step``, from a generator seeded by (seed,
        step) alone: any step's batch without the steps before it."""
        g = torch.Generator().manual_seed((self.seed * 0x9E3779B97F4A7C15 + step) % 2 ** 63)
        return self._draw(g, size)


def tiled_crops(lengths: list[int], length: int, max_crops: int | None = None
                ) -> list[tuple[int, int]]:
    """Non-overlapping crops of ``length`` from the start of each file: the fixed validation
    and test sets (the first ``max_crops`` when given)."""
    crops = [(i, s) for i, n in enumerate(lengths) for s in range(0, n - length + 1, length)]
    return crops[:max_crops] if max_crops is not None else crops
