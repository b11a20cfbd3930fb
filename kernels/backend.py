"""Which implementation an op runs: the Triton kernels on CUDA, the PyTorch reference elsewhere.

Set ``MAMBASEQ_KERNELS=reference`` to force the reference everywhere (debugging, bisecting a
numerical difference); ``MAMBASEQ_KERNELS=triton`` asks for Triton even where the reference
would be chosen (the CPU interpreter uses this together with ``TRITON_INTERPRET=1``).
``MAMBASEQ_PDL=0`` launches the decoding kernels without programmatic dependent launch
(``kernels.triton_pdl``; 1, the default, uses it where the GPU has it).
"""
from __future__ import annotations

import functools
import os

import torch

ENV_VAR = "MAMBASEQ_KERNELS"
_CHOICES = ("auto", "reference", "triton")
PDL_ENV_VAR = "MAMBASEQ_PDL"
INTERPRET_ENV_VAR = "TRITON_INTERPRET"


def kernel_choice() -> str:
    """The value of ``MAMBASEQ_KERNELS`` ("auto" when unset); raises on anything else."""
    value = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if value not in _CHOICES:
        raise ValueError(f"{ENV_VAR}={value!r}: expected one of {', '.join(_CHOICES)}")
    return value


def pdl_requested() -> bool:
    """The value of ``MAMBASEQ_PDL`` (1 when unset) as a bool; raises on anything but 0 or 1."""
    value = os.environ.get(PDL_ENV_VAR, "1").strip() or "1"
    if value not in ("0", "1"):
        raise ValueError(f"{PDL_ENV_VAR}={value!r}: expected 0 or 1")
    return value == "1"


@functools.cache
def triton_interpreted() -> bool:
    """Whether Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``): the kernels
    then pick small blocks and one warp, and skip what only a compiled kernel has (register
    caps, fast math, programmatic dependent launch). Read once, as Triton reads it once a
    kernel, when ``triton.jit`` decorates it at import (the variable changed later changes
    neither); a short scan's host path asks on every call."""
    return os.environ.get(INTERPRET_ENV_VAR) == "1"


def check_environment() -> None:
    """Raise ValueError (one line naming the variable) if MAMBASEQ_KERNELS or MAMBASEQ_PDL
    holds a value the kernels would refuse later, mid-run."""
    kernel_choice()
    pdl_requested()


def grad_wanted(*tensors: torch.Tensor | None) -> bool:
    """Whether autograd will ask for a gradient of any of these tensors (None: absent)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def use_triton(*tensors: torch.Tensor) -> bool:
    """True when an op on these tensors should run its Triton kernel."""
    choice = kernel_choice()
    if choice == "reference":
        return False
    if choice == "triton":
        return True
    return all(t.is_cuda for t in tensors if t is not None)


@functools.lru_cache(maxsize=None)
def multiprocessor_count(device: torch.device) -> int:
    """The CUDA device's multiprocessor count, asked once a device (launch heuristics ask it
    on every call, a short scan's host path among them)."""
    return torch.cuda.get_device_properties(device).multi_processor_count
