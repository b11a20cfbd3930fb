"""Peak memory of a block of work, for the scaling study, in MiB.

- CUDA: ``torch.cuda.max_memory_allocated`` after resetting the peak statistics: the most
  tensor memory held at once (weights, activations, gradients, optimiser state).
- CPU: the peak, over the block, of the bytes in use from the C heap (glibc ``mallinfo2``:
  ``uordblks + hblkhd``, which PyTorch's CPU tensors come from), minus the bytes in use on
  entry: what the block added (activations, gradients, optimiser state, batches). Sampled
  every ``interval_s`` by a background thread and whenever ``sample()`` is called (the scale
  job calls it before every backward pass, when the activations are all held), so only a
  spike shorter than the interval between two samples can be missed.
  Unlike the resident set, it falls when memory is freed, so runs after the first are
  measured as truthfully as the first. Without glibc the measure is "unavailable" (NaN).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import threading
from typing import Callable

import torch


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _heap_in_use() -> Callable[[], int] | None:
    """A function returning the C heap's bytes in use, or None without glibc's mallinfo2."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2

    def in_use() -> int:
        info = mallinfo2()
        return info.uordblks + info.hblkhd
    return in_use


_HEAP_IN_USE = _heap_in_use()


class PeakMemory:
    """Context manager: ``with PeakMemory(device) as m: ...`` then ``m.peak_mb`` (float MiB)
    and ``m.measure`` ("cuda_max_memory_allocated", "cpu_peak_heap_delta" or "unavailable")."""

    def __init__(self, device: torch.device, interval_s: float = 0.002) -> None:
        self.device, self.interval_s = torch.device(device), interval_s
        self.peak_mb = math.nan
        if self.device.type == "cuda":
            self.measure = "cuda_max_memory_allocated"
        else:
            self.measure = "cpu_peak_heap_delta" if _HEAP_IN_USE else "unavailable"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active = False

    def sample(self) -> None:
        """Take one sample now (CPU heap measure inside the block; otherwise nothing)."""
        if self._active:
            in_use = _HEAP_IN_USE()
            with self._lock:
                self._peak = max(self._peak, in_use)

    def _sample_every_interval(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> "PeakMemory":
        if self.measure == "cuda_max_memory_allocated":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self.measure == "cpu_peak_heap_delta":
            self._start = self._peak = _HEAP_IN_USE()
            self._active = True
            self._thread = threading.Thread(target=self._sample_every_interval, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.measure == "cuda_max_memory_allocated":
            torch.cuda.synchronize(self.device)
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / 2 ** 20
        elif self.measure == "cpu_peak_heap_delta":
            self.sample()
            self._stop.set()
            self._thread.join()
            self._active = False
            self.peak_mb = (self._peak - self._start) / 2 ** 20
