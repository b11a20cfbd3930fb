"""The audio libraries, imported on first use: torchaudio (mu-law, resampling, spectrograms)
and soundfile (libsndfile I/O). Nothing else in the project imports them, so DNA work never
loads them, and a missing or broken audio stack costs audio jobs only, with one line that
says what to install."""
from __future__ import annotations

import importlib
from types import ModuleType

import torch

# The torchaudio release built against the torch this project pins (pyproject.toml).
TORCHAUDIO_FOR_TORCH = {"2.11": "2.11.0"}


class AudioStackError(RuntimeError):
    """torchaudio or soundfile is missing, or cannot be loaded with the installed torch."""


def _install_hint(package: str) -> str:
    if package != "torchaudio":
        return f"pip install {package}"
    torch_minor = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    pin = TORCHAUDIO_FOR_TORCH.get(torch_minor)
    return (f"pip install 'torchaudio=={pin}'" if pin
            else f"install the torchaudio release built for torch {torch.__version__}")


def audio_module(name: str) -> ModuleType:
    """Import ``name`` ("torchaudio.functional", "torchaudio.transforms", "soundfile").

    Raises ``AudioStackError`` naming the package and the install command when the import
    fails, e.g. a torchaudio built for another torch (``OSError: undefined symbol``)."""
    try:
        return importlib.import_module(name)
    except (ImportError, OSError) as err:
        package = name.split(".")[0]
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise AudioStackError(f"audio needs {package}, which cannot be imported ({first_line}); "
                              f"{_install_hint(package)}") from err


def check_audio_stack() -> None:
    """Raise ``AudioStackError`` now, before an audio job writes anything, when torchaudio or
    soundfile cannot be imported."""
    for name in ("torchaudio.functional", "torchaudio.transforms", "soundfile"):
        audio_module(name)
