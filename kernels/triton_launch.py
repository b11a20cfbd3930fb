"""Launching a Triton kernel again without Triton's per-call argument binding.

``kernel[grid](*args, **constexprs)`` binds and specializes every argument in Python on every
call (is an int 1, a multiple of 16, 32-bit? is a pointer 16-byte aligned?), builds the cache
key from that and looks the compiled kernel up: about 25 us a launch of the block scan's
forward (40 arguments) on an H100's host, against 6.5 us for the compiled kernel's own
launcher (benchmarks/results/h100-2026-12-06, session 10, call 1). A short scan's time is
mostly such host time, so ``Launcher`` keeps the compiled kernels under a key of its own and
calls the launcher directly.

The key holds every argument's type, every tensor argument's dtype, whether the tensors' data
pointers are 16-byte aligned (one flag where all are, else one a tensor), the other
arguments' values, the constexprs, the warps, the register cap and the device: all that
Triton's specialization is made of, and more. Equal keys therefore mean the same
specialization and the same compiled kernel. A new key takes Triton's own path once
(compiling where Triton has not) and keeps the kernel it launched. Under the interpreter,
while a launch hook is set (a profiler such as proton's), and when the first argument is not
a CUDA tensor, every call takes Triton's path.

The kept kernel is given the tensors' data pointers as ints (the key reads them anyway):
given a tensor, Triton 3.6's launcher calls its ``data_ptr`` method and then the driver's
``cuPointerGetAttribute`` to check that it points to device memory, both once a tensor (21
tensors a launch of the block scan's backward). So that a host tensor among the arguments
still gets Triton's error naming it, a call with one takes Triton's path. And where the
kernel needs no scratch memory (the block scan's do not), the kept kernel is launched by
Triton's C launcher itself, without ``CudaLauncher.__call__``, which would find that out
again (two scratch allocations of size 0, a closure) on every call.
"""
from __future__ import annotations

from functools import reduce
from operator import attrgetter, itemgetter, or_
from typing import Any, Callable

import torch
import triton
from triton import knobs
from triton.runtime import driver

from .backend import triton_interpreted

# kernels a launcher keeps at most: one a distinct shape (the key holds lengths and strides),
# so a long run over many shapes starts over instead of growing without bound
MAX_KEYS = 512


_dtype_of = attrgetter("dtype")
_is_cuda = attrgetter("is_cuda")
_pointer_of = torch.Tensor.data_ptr


def _picker(positions: tuple[int, ...]) -> Callable[[tuple], tuple]:
    """A function taking the arguments at ``positions`` out of an argument tuple, as a tuple."""
    if len(positions) > 1:
        return itemgetter(*positions)
    return lambda args: tuple(args[i] for i in positions)


def _pickers(types: tuple[type, ...]) -> tuple[Callable[[tuple], tuple], ...]:
    """For arguments of these types: the tensors' picker, the other arguments' picker, and the
    picker that puts (the tensors' pointers + the other arguments) back in argument order."""
    tensors = tuple(i for i, kind in enumerate(types) if issubclass(kind, torch.Tensor))
    others = tuple(i for i in range(len(types)) if i not in tensors)
    joined = tensors + others
    return _picker(tensors), _picker(others), _picker(tuple(map(joined.index,
                                                                range(len(types)))))


def _options(num_warps: int, maxnreg: int) -> dict[str, int]:
    """The launch options Triton takes: the warps, and the register cap where it is not 0 and
    Triton compiles (the interpreter has no registers)."""
    if maxnreg and not triton_interpreted():
        return {"num_warps": num_warps, "maxnreg": maxnreg}
    return {"num_warps": num_warps}


def _hooked() -> bool:
    """Whether a launch hook is set (Triton 3.6 keeps them as chains, empty by default)."""
    hooks = (knobs.runtime.launch_enter_hook, knobs.runtime.launch_exit_hook)
    return any(getattr(hook, "calls", hook) for hook in hooks)


def _on_cuda(arg: Any) -> bool:
    """Whether a kernel's first argument is a CUDA tensor (not a CPU one: the interpreter's,
    or benchmarks/gpu_test_variants.py's stand-in GPU, which intercepts Triton's path)."""
    return isinstance(arg, torch.Tensor) and arg.is_cuda


class Launcher:
    """``Launcher(kernel)(grid, *args, num_warps=w, maxnreg=r, **constexprs)`` launches
    ``kernel[grid](*args, num_warps=w, **constexprs)``, with ``maxnreg=r`` (registers a
    thread at most) where r is not 0 and Triton compiles (the interpreter has no registers).
    ``args`` are the kernel's leading parameters in order; ``constexprs`` name all the
    rest."""

    def __init__(self, kernel: triton.JITFunction):
        self.kernel = kernel
        self.compiled: dict[tuple, Any] = {}
        self._pickers: dict[tuple[type, ...], tuple] = {}   # argument types -> _pickers'

    def _args_key(self, args: tuple) -> tuple[tuple, tuple, tuple]:
        """What the arguments contribute to the key (their types, the tensors' dtypes and
        alignment, the other arguments' values), the tensors, and the arguments with each
        tensor's data pointer in its place. Built by C-level maps over argument positions
        kept a type tuple, no Python call an argument: this runs on every launch of a short
        scan's host path."""
        types = tuple(map(type, args))
        pickers = self._pickers.get(types)
        if pickers is None:
            pickers = self._pickers[types] = _pickers(types)
        tensors, others = pickers[0](args), pickers[1](args)
        pointers = tuple(map(_pointer_of, tensors))
        aligned = not reduce(or_, pointers, 0) & 15 or tuple(not p & 15 for p in pointers)
        return ((types, tuple(map(_dtype_of, tensors)), aligned, others), tensors,
                pickers[2](pointers + others))

    def __call__(self, grid: tuple[int, ...], *args: Any, num_warps: int, maxnreg: int = 0,
                 **constexprs: Any) -> None:
        if triton_interpreted() or _hooked() or not _on_cuda(args[0]):
            self._through_triton(grid, args, num_warps, maxnreg, constexprs)
            return
        args_key, tensors, by_pointer = self._args_key(args)
        if not all(map(_is_cuda, tensors)):     # Triton's launcher refuses it, naming it
            self._through_triton(grid, args, num_warps, maxnreg, constexprs)
            return
        device = torch.cuda.current_device()
        key = (device, num_warps, maxnreg, *constexprs.items(), args_key)
        entry = self.compiled.get(key)
        if entry is None:
            self._launch_and_keep(key, grid, args, num_warps, maxnreg, constexprs)
            return
        launch, head, tail = entry
        grid_y = grid[1] if len(grid) > 1 else 1
        grid_z = grid[2] if len(grid) > 2 else 1
        launch(grid[0], grid_y, grid_z, driver.active.get_current_stream(device), *head,
               *by_pointer, *tail)

    def _through_triton(self, grid: tuple[int, ...], args: tuple, num_warps: int,
                        maxnreg: int, constexprs: dict[str, Any]) -> Any:
        """Triton's own launch (binding, specializing, compiling where it has not): its
        compiled kernel."""
        return self.kernel[grid](*args, **_options(num_warps, maxnreg), **constexprs)

    def _launch_and_keep(self, key: tuple, grid: tuple[int, ...], args: tuple, num_warps: int,
                         maxnreg: int, constexprs: dict[str, Any]) -> None:
        """Launch through Triton and keep the compiled kernel's launch (``_launch_of``) with
        the constexprs' values in the kernel's parameter order (the launcher takes every
        parameter, in order)."""
        rest = self.kernel.arg_names[len(args):]
        if sorted(rest) != sorted(constexprs):
            raise TypeError(f"{self.kernel.__name__}: pass parameters {rest} as keywords, "
                            f"got {sorted(constexprs)}")
        compiled = self._through_triton(grid, args, num_warps, maxnreg, constexprs)
        if hasattr(compiled, "result"):     # compiled asynchronously
            compiled = compiled.result()
        if len(self.compiled) >= MAX_KEYS:     # the type tuples' pickers start over with them
            self.compiled.clear()
            self._pickers.clear()
        self.compiled[key] = (*_launch_of(compiled), tuple(constexprs[name] for name in rest))


def _launch_of(compiled: Any) -> tuple[Callable, tuple]:
    """A compiled kernel's launch function and the arguments it takes between the stream and
    the kernel's parameters: Triton's C launcher (``CudaLauncher.launch``) where the kernel
    needs neither global nor profiling scratch memory, else ``compiled.run``, which
    allocates them first."""
    run = compiled.run
    metadata = (compiled.packed_metadata, None, None, None)   # no launch metadata nor hooks
    if (getattr(run, "global_scratch_size", None) == 0
            and getattr(run, "profile_scratch_size", None) == 0
            and callable(getattr(run, "launch", None))):
        return run.launch, (compiled.function, run.launch_cooperative_grid, run.launch_pdl,
                            None, None, *metadata)
    return run, (compiled.function, *metadata)
