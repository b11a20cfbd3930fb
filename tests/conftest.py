"""Shared test settings: a fixed seed; ``gpu`` tests need CUDA and run every autotuned Triton
kernel with one config, without timing; ``interpreted`` tests (Triton kernels on the CPU) are
collected only where TRITON_INTERPRET=1, that is inside the subprocess that the kernel test
files start for them, and deselected elsewhere; the repository root goes last on
``sys.path``."""
import os
import sys
from pathlib import Path

import pytest
import torch

# the Triton modules whose autotuned kernels the ``gpu`` tests pin to one config
TRITON_MODULES = ("triton_conv", "triton_linear", "triton_norm", "triton_scan", "triton_step")

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


@pytest.fixture(autouse=True)
def _one_config_per_autotuned_kernel(request, monkeypatch):
    """In ``gpu`` tests every autotuned kernel has a single config: config ``i`` (modulo the
    kernel's count) of ``@pytest.mark.autotune_config(i)``, else the first. Autotuning would
    time every config on every new tuning key (tests never time anything) and compile each of
    them for every new dtype/flag/stride class, while only the winner's output is checked;
    the kernel tests spread ``autotune_config`` over their cases so that every config is
    checked. Tests marked ``autotune`` keep the tuner."""
    node = request.node
    if node.get_closest_marker("gpu") is None or node.get_closest_marker("autotune"):
        return
    import importlib

    from triton.runtime.autotuner import Autotuner
    from triton.runtime.jit import JITFunction, KernelInterface
    marker = node.get_closest_marker("autotune_config")
    index = marker.args[0] if marker else 0
    for name in TRITON_MODULES:
        for kernel in vars(importlib.import_module(f"mambaseq.kernels.{name}")).values():
            while isinstance(kernel, KernelInterface) and not isinstance(
                    kernel, (Autotuner, JITFunction)):
                kernel = kernel.fn                  # under @triton.heuristics
            if isinstance(kernel, Autotuner):
                monkeypatch.setattr(kernel, "configs",
                                    [kernel.configs[index % len(kernel.configs)]])
