"""Which implementation an op runs: the Triton kernels on CUDA, the PyTorch reference elsewhere.

Set ``MAMBASEQ_KERNELS=reference`` to force the reference everywhere (debugging, bisecting a
numerical difference); ``MAMBASEQ_KERNELS=triton`` asks for Triton even where the reference
would be chosen (the CPU interpreter uses this together with ``TRITON_INTERPRET=1``).
"""
from __future__ import annotations

import os

import torch

ENV_VAR = "MAMBASEQ_KERNELS"
_CHOICES = ("auto", "reference", "triton")


def kernel_choice() -> str:
    """The value of ``MAMBASEQ_KERNELS`` ("auto" when unset); raises on anything else."""
    value = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if value not in _CHOICES:
        raise ValueError(f"{ENV_VAR}={value!r}: expected one of {', '.join(_CHOICES)}")
    return value


def use_triton(*tensors: torch.Tensor) -> bool:
    """True when an op on these tensors should run its Triton kernel."""
    choice = kernel_choice()
    if choice == "reference":
        return False
    if choice == "triton":
        return True
    return all(t.is_cuda for t in tensors if t is not None)
