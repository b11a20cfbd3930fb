"""Shared test settings: a fixed seed; ``gpu`` tests need CUDA; ``interpreted`` tests
(Triton kernels on the CPU) are collected only where TRITON_INTERPRET=1, that is inside the
subprocess that the kernel test files start for them, and deselected elsewhere."""
import os

import pytest
import torch


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
