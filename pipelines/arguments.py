"""``argparse`` types for the jobs' options: each checks one value where it is parsed, so a
bad one stops the job before any work with argparse's one line
``mambaseq JOB: error: argument --x: ...`` and exit code 2."""
from __future__ import annotations

import argparse

import torch

from .config import UsageError


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _parse(int, text, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _parse(float, text, "a number")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def probability(text: str) -> float:
    """A number in (0, 1]."""
    value = _parse(float, text, "a number")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def device(text: str) -> str:
    """A torch device name this machine has: cpu, cuda, cuda:N (N below the GPU count)."""
    try:
        dev = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {text!r} (cpu, cuda, cuda:N)") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0:
            raise argparse.ArgumentTypeError(f"{text!r}: this machine has no CUDA GPU; use cpu")
        if dev.index is not None and dev.index >= count:
            raise argparse.ArgumentTypeError(f"{text!r}: this machine has {count} CUDA GPU(s)")
    elif dev.type != "cpu":
        raise argparse.ArgumentTypeError(f"unsupported device {text!r} (cpu, cuda, cuda:N)")
    return text


def default_device() -> str:
    """cuda where a GPU is present, else cpu."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _parse(kind: type, text: str, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def refuse_other_domain(args: argparse.Namespace, domain: str, only: dict[str, str],
                        source: str) -> None:
    """Raise ``UsageError`` for an option given (not None) that applies only to another
    domain: ``only`` maps an option (``--prompt-audio``) to the domain it serves (audio);
    ``domain`` is that of the model in ``source``."""
    for option, wanted in only.items():
        if wanted != domain and getattr(args, option.lstrip("-").replace("-", "_")) is not None:
            raise UsageError(f"{option} applies to {wanted} models; {source} is a {domain} model")
