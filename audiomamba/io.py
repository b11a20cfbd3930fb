"""Reading and writing audio files through soundfile (libsndfile: WAV, FLAC, OGG, ...):
mono mix-down, resampling through torchaudio, 16-bit PCM WAV output. Errors name the file."""
from __future__ import annotations

from pathlib import Path

import torch

from .stack import audio_module

SAMPLE_RATE = 16000
AUDIO_SUFFIXES = (".wav", ".flac")


class AudioFileError(ValueError):
    """An audio file or folder is missing, unreadable, empty or otherwise unusable."""


def check_wav_complete(path: Path) -> None:
    """Raise ``AudioFileError`` when ``path`` is a RIFF/WAVE file whose ``data`` chunk holds
    fewer bytes than its header declares (a truncated copy, which libsndfile reads short
    without a word). Other formats, and sizes left unset by streaming writers (0 or
    0xFFFFFFFF), are not checked."""
    with open(path, "rb") as file:
        if file.read(12)[8:12] != b"WAVE":
            return
        size = path.stat().st_size
        while True:
            header = file.read(8)
            if len(header) < 8:
                return
            chunk, declared = header[:4], int.from_bytes(header[4:], "little")
            if chunk == b"data":
                available = size - file.tell()
                if declared not in (0, 0xFFFFFFFF) and declared > available:
                    raise AudioFileError(f"{path}: truncated WAV: its header declares {declared} "
                                         f"bytes of samples, the file holds {available}")
                return
            file.seek(declared + declared % 2, 1)


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Read ``path`` as mono float32 samples in [-1, 1] at ``sample_rate`` Hz: (num_samples,).

    Multichannel audio is mixed down by averaging the channels; other rates are resampled
    with ``torchaudio.functional.resample`` (windowed sinc). Raises ``AudioFileError`` naming
    the file when it is missing, not readable as audio, or holds no samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such audio file")
    check_wav_complete(path)
    soundfile = audio_module("soundfile")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # libsndfile's errors: unknown format, truncated header, ...
        raise AudioFileError(f"{path}: cannot be read as audio ({err})") from err
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: holds no audio samples")
    wave = torch.from_numpy(data).mean(dim=1)
    if rate != sample_rate:
        wave = audio_module("torchaudio.functional").resample(wave, rate, sample_rate)
    return wave.clamp(-1.0, 1.0)


def save_wav(path: str | Path, wave: torch.Tensor, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono ``wave`` (num_samples,) float in [-1, 1] (clipped) as 16-bit PCM WAV;
    parent folders are created. Returns the path."""
    path = Path(path)
    if wave.dim() != 1 or wave.numel() == 0:
        raise ValueError(f"{path}: expected a non-empty mono wave (num_samples,), got {tuple(wave.shape)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = wave.detach().float().clamp(-1, 1).cpu().numpy()
    audio_module("soundfile").write(str(path), samples, sample_rate, subtype="PCM_16", format="WAV")
    return path


def audio_files(folder: str | Path) -> list[Path]:
    """The WAV and FLAC files under ``folder`` (recursively), sorted by path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioFileError(f"{folder}: no such audio folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise AudioFileError(f"{folder}: holds no {' or '.join(AUDIO_SUFFIXES)} files")
    return files
