"""Shared test settings: a fixed seed; ``gpu`` tests need CUDA; ``interpreted`` tests
(Triton kernels on the CPU) are collected only where TRITON_INTERPRET=1, that is inside the
subprocess that the kernel test files start for them, and deselected elsewhere; the
repository root goes last on ``sys.path``."""
import os
import sys
from pathlib import Path

import pytest
import torch

# ``python -m pytest`` puts the working directory, the repository root, first on sys.path.
# The root's folder kernels/ (installed as mambaseq.kernels) would then shadow the Hugging Face
# distribution ``kernels`` that transformers >= 5.25 imports. Moved last (and pytest's
# ``--import-mode=append`` in pyproject.toml keeps it there), the root still serves ``tests``
# and ``benchmarks``, and installed distributions come first.
REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != REPO] + [str(REPO)]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("TRITON_INTERPRET") != "1":
        interpreted = [item for item in items if "interpreted" in item.keywords]
        if interpreted:
            config.hook.pytest_deselected(items=interpreted)
            items[:] = [item for item in items if "interpreted" not in item.keywords]
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
