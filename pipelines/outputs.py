"""Where a job writes its outputs: never over an input, never over an earlier output unless
the user passes ``--overwrite``; each check runs before any work, raising ``UsageError``."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable

from .config import UsageError


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--overwrite`` flag every job that writes beside its inputs takes."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the outputs of an earlier run instead of refusing")


def check_outputs(outputs: Iterable[Path], inputs: Iterable[str | Path | None],
                  overwrite: bool) -> None:
    """Refuse an output that is one of the ``inputs`` (always) or that exists already
    (unless ``overwrite``)."""
    given = {Path(p).resolve() for p in inputs if p is not None}
    for out in outputs:
        if out.resolve() in given:
            raise UsageError(f"{out}: the output would overwrite an input of this job; "
                             f"choose another output path")
        if out.exists() and not overwrite:
            raise UsageError(f"{out} exists (from an earlier run); pass --overwrite to replace "
                             f"it, or choose another output path")
