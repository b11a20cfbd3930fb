"""Programmatic dependent launch (PDL) for the decoding step's kernels.

A decoding step is a chain of short kernels, about seven a layer and a few microseconds each,
so the time between them (the next launch, its programs ramping up while the last wave of
the previous kernel drains) is a large share of a step. On GPUs of compute capability 9.0
and newer, a kernel launched with PDL may start while the kernel before it in the stream is
still running. Each of ours then begins with ``wait_for_previous_kernel``: it waits until
that kernel has completed and its writes are visible (``griddepcontrol.wait``). Nothing is
read or written before the wait, and a kernel completes only after its own wait, so every
kernel sees memory as in plain stream order; only the launches overlap. CUDA graphs keep the
dependency. The kernels do not trigger their successor early
(``griddepcontrol.launch_dependents``): on an H100 that made the 1.4B LM's step 17% slower
at batch 1 and 13% at batch 16, while the wait alone was faster at every batch (0.3-3%;
the 130M LM within 1.5% either way; results/h100-2026-12-06, session 5). A likely cause, not measured: the next kernel's
programs, placed while this one still held the SMs, share them unevenly, and its one wave
of weight-streaming programs then ends later.

On with a CUDA tensor on such a GPU; off under Triton's interpreter, on older GPUs, and with
``MAMBASEQ_PDL=0`` (to measure what it buys, or to rule it out).
"""
from __future__ import annotations

import functools
import os

import torch
import triton
import triton.language as tl

from .backend import pdl_requested


def pdl_launch(t: torch.Tensor) -> bool:
    """Whether kernels working on ``t`` launch with programmatic dependent launch."""
    if not pdl_requested() or not t.is_cuda or os.environ.get("TRITON_INTERPRET") == "1":
        return False
    return _compute_capability(t.device)[0] >= 9


def pdl_options(t: torch.Tensor) -> dict[str, bool]:
    """The launch options of a kernel working on ``t`` that begins with
    ``wait_for_previous_kernel(PDL)``: its ``PDL`` constexpr and Triton's ``launch_pdl``."""
    pdl = pdl_launch(t)
    return {"PDL": pdl, "launch_pdl": pdl}


@functools.lru_cache(maxsize=None)
def _compute_capability(device: torch.device) -> tuple[int, int]:
    return torch.cuda.get_device_capability(device)


@triton.jit
def wait_for_previous_kernel(PDL: tl.constexpr):
    """With PDL (a kernel launched with ``launch_pdl=True``): wait for the kernel before this
    one to complete. Call it before any load or store."""
    if PDL:
        tl.extra.cuda.gdc_wait()
