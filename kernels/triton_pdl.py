"""Programmatic dependent launch (PDL) for the decoding step's kernels.

A decoding step is a chain of short kernels, about seven a layer and a few microseconds each,
so the time between them (the next launch, its programs ramping up while the last wave of
the previous kernel drains) is a large share of a step. On GPUs of compute capability 9.0
and newer, a kernel launched with PDL may start while the kernel before it in the stream is
still running. Each of ours then begins with ``wait_for_previous_kernel``: it waits until
that kernel has completed and its writes are visible (``griddepcontrol.wait``). Nothing is
read or written before the wait, and a kernel completes only after its own wait, so every
kernel sees memory as in plain stream order; only the launches overlap. CUDA graphs keep the
dependency.

With at least ``TRIGGER_MIN_ROWS`` rows a kernel also lets its successor launch right after
its own wait (``griddepcontrol.launch_dependents``), so the successor's programs are placed
and ready while this one streams its weights; the successor still waits for this kernel's
completion before touching memory. Measured on an H100 (the 1.4B LM, results/h100-2026-12-06,
sessions 5 and 6): the trigger from 64 rows made the step at batch 64 4.1% faster with a bf16
state (2.603 -> 2.496 ms) and 2.1% with float32, batch 128 1-2% faster; the trigger
in every kernel had made batch 1 17% slower and batch 16 13%, where the wait alone was
faster. A likely cause, not measured: with few rows the next kernel's programs, placed while
this one still held the SMs, share them unevenly, and its one wave of weight-streaming
programs then ends later.

On with a CUDA tensor on such a GPU; off under Triton's interpreter, on older GPUs, and with
``MAMBASEQ_PDL=0`` (to measure what it buys, or to rule it out).
"""
from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl

from .backend import pdl_requested, triton_interpreted

# Rows from which a kernel triggers its successor's launch early (see the module docstring).
TRIGGER_MIN_ROWS = 64


def pdl_launch(t: torch.Tensor) -> bool:
    """Whether kernels working on ``t`` launch with programmatic dependent launch."""
    if not pdl_requested() or not t.is_cuda or triton_interpreted():
        return False
    return _compute_capability(t.device)[0] >= 9


def pdl_options(t: torch.Tensor) -> dict[str, int | bool]:
    """The launch options of a kernel working on ``t`` (rows first) that begins with
    ``wait_for_previous_kernel(PDL)``: its ``PDL`` constexpr (0 off, 1 wait, 2 wait and
    trigger the next launch: at least ``TRIGGER_MIN_ROWS`` rows) and Triton's ``launch_pdl``."""
    pdl = pdl_launch(t)
    mode = 0 if not pdl else 2 if t.shape[0] >= TRIGGER_MIN_ROWS else 1
    return {"PDL": mode, "launch_pdl": pdl}


@functools.lru_cache(maxsize=None)
def _compute_capability(device: torch.device) -> tuple[int, int]:
    return torch.cuda.get_device_capability(device)


@triton.jit
def wait_for_previous_kernel(PDL: tl.constexpr):
    """PDL >= 1 (a kernel launched with ``launch_pdl=True``): wait for the kernel before this
    one to complete; PDL 2: then let the next kernel launch. Call it before any load or store."""
    if PDL >= 1:
        tl.extra.cuda.gdc_wait()
    if PDL == 2:
        tl.extra.cuda.gdc_launch_dependents()
