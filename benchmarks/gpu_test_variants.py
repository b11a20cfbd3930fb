"""What the `gpu` tests compile, counted on a machine without a GPU: every Triton kernel variant
(one compile each where Triton's cache starts empty) and every autotuning key (one timing run
over its configs), per test and per file, in the order pytest runs them.

The `gpu` tests run here on CPU tensors: a torch function mode turns every "cuda" device into
"cpu", ``use_triton`` picks the Triton kernels for every tensor that is not float64 (the
float64 yardsticks stay on the reference), Lightning gets the CPU where a job asks for a GPU,
and every kernel launch is intercepted: its compile key is formed from the launch's arguments
the way Triton's launcher specialises them for the CUDA backend (dtypes, integers equal to 1
or divisible by 16, 16-byte aligned pointers, constexprs, num_warps), recorded, and nothing
runs. Outputs are never computed, so the tests' checks are switched off here (closeness,
``torch.equal``, ``torch.isfinite``: a training run goes on to its last step where the real
one may stop earlier): this counts compiles, it tests nothing. The scan's layout and chunk
counts and the norm's program count follow an H100's 132 multiprocessors; a tuning run "times" every config
at 1 ms (each config is compiled, the first wins) unless the test replaced ``do_bench``.
"torch calls" counts the test's PyTorch calls from Python (its float64 yardsticks included):
on a GPU each is a launch of a few microseconds at least.

    python benchmarks/gpu_test_variants.py [--verbose] [--compile-times] [PYTEST ARGS]

PYTEST ARGS default to ``tests``. ``--verbose`` prints each new variant's key; ``--compile-times``
then compiles every distinct variant for sm_90 into an empty Triton cache and sums the seconds
per test and per file (on this machine's CPU; a GPU machine's cores may differ).
"""
from __future__ import annotations

import collections
import os
import sys
import tempfile
import time
import types

import pytest

SMS = 132                       # H100 / H200 multiprocessors

# (kernel name, compile key) -> (test that compiled it first, (kernel, args, kwargs))
VARIANTS: dict[tuple[str, str], tuple[str, tuple]] = {}
TUNING_KEYS: dict[tuple[str, tuple], str] = {}
PER_TEST: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
CURRENT = ["(collection)"]
VERBOSE = [False]


def _describe(kernel, specialization, options) -> str:
    """Constexprs, pointer dtypes and the integers specialised (=1 constexpr, /16 divisible)."""
    parts = []
    for param, (kind, value) in zip(kernel.params, specialization):
        if kind == "constexpr":
            parts.append(f"{param.name}={value}")
        elif kind.startswith("*"):
            parts.append(f"{param.name}:{kind}{'/16' if value == 'D' else ''}")
        elif value == "D":
            parts.append(f"{param.name}/16")
    return f"{kernel.__name__} {options} " + " ".join(parts)


def _install() -> None:
    """Intercept launches and autotuning; point "cuda" at the CPU."""
    import lightning as L
    import torch
    from torch.overrides import TorchFunctionMode
    from triton.backends.nvidia.compiler import CUDABackend
    from triton.runtime.autotuner import Autotuner
    from triton.runtime.jit import JITFunction, create_function_from_signature

    binders = {}
    gpu = torch.device("cuda")      # made before CudaIsCpu, which turns "cuda" into the CPU

    def run(self, *args, grid, warmup, **kwargs):
        if self not in binders:
            binders[self] = create_function_from_signature(self.signature, self.params, CUDABackend)
        _, specialization, options = binders[self](*args, **kwargs)
        key = (self.__name__, str(specialization) + str(options))
        PER_TEST[CURRENT[0]]["launches"] += 1
        if key not in VARIANTS:
            VARIANTS[key] = (CURRENT[0], (self, args, kwargs))
            PER_TEST[CURRENT[0]]["variants"] += 1
            if VERBOSE[0]:
                print(f"\n  new {_describe(self, specialization, options)}", flush=True)
        return None

    def tune(self, *args, **kwargs):
        """Autotuner.run: with several configs, a new tuning key "times" every config (each
        call of ``do_bench`` compiles its config; a test may replace ``do_bench``)."""
        config = self.configs[0]
        if len(self.configs) > 1:
            named = {k: v for k, v in {**dict(zip(self.arg_names, args)), **kwargs}.items()
                     if k in self.arg_names}
            key = [named[k] for k in self.keys if k in named]
            key = tuple(key + [str(v.dtype) for v in named.values() if hasattr(v, "dtype")])
            if key not in self.cache:
                TUNING_KEYS[(self.base_fn.__name__, key)] = CURRENT[0]
                PER_TEST[CURRENT[0]]["tuning keys"] += 1
                def call(c):
                    return lambda: self.fn.run(*args, **kwargs, **c.all_kwargs())
                timings = {c: self.do_bench(call(c), quantiles=(0.5, 0.2, 0.8))
                           for c in self.configs}
                self.cache[key] = min(timings, key=timings.get)
            config = self.cache[key]
        return self.fn.run(*args, **kwargs, **config.all_kwargs())

    JITFunction.run = run
    Autotuner.run = tune
    Autotuner.do_bench = staticmethod(lambda fn, quantiles: (fn(), [1.0, 1.0, 1.0])[1])

    def to_cpu(device):
        if isinstance(device, str) and device.startswith("cuda"):
            return "cpu"
        if isinstance(device, torch.device) and device.type == "cuda":
            return torch.device("cpu")
        return device

    class CudaIsCpu(TorchFunctionMode):
        def __torch_function__(self, func, types_, args=(), kwargs=None):
            PER_TEST[CURRENT[0]]["torch calls"] += 1
            kwargs = dict(kwargs or {})
            if func is torch.Tensor.cuda:
                return args[0].cpu()
            if "device" in kwargs:
                kwargs["device"] = to_cpu(kwargs["device"])
            return func(*[to_cpu(a) for a in args], **kwargs)

    CudaIsCpu().__enter__()
    real_autocast = torch.autocast

    class autocast(real_autocast):          # noqa: N801 - torch's name
        def __init__(self, device_type, *args, **kwargs):
            super().__init__(to_cpu(device_type), *args, **kwargs)

    torch.autocast = autocast
    torch.cuda.get_device_properties = lambda *a, **k: types.SimpleNamespace(
        multi_processor_count=SMS, total_memory=80 * 2 ** 30, name="H100 (counted on a CPU)")
    for name in ("synchronize", "reset_peak_memory_stats", "empty_cache"):
        setattr(torch.cuda, name, lambda *a, **k: None)
    torch.cuda.max_memory_allocated = lambda *a, **k: 0

    import mambaseq.kernels.backend as backend
    import mambaseq.kernels.ops as ops

    def use_triton(*tensors):
        return not any(t is not None and t.dtype == torch.float64 for t in tensors)

    backend.use_triton = ops.use_triton = use_triton
    import mambaseq.kernels.triton_scan as scan
    if hasattr(scan, "_auto_chunks"):          # the chunk count an H100 would get
        real_auto_chunks = scan._auto_chunks

        def auto_chunks(*args, **kwargs):      # its device (the last argument): a GPU
            if "device" in kwargs:
                kwargs["device"] = gpu
            else:
                args = (*args[:-1], gpu)
            return real_auto_chunks(*args, **kwargs)
        scan._auto_chunks = auto_chunks
    if hasattr(scan, "_auto_block"):           # the scan layout an H100 would get
        real_auto_block = scan._auto_block
        scan._auto_block = lambda rows, device: real_auto_block(rows, gpu)

    real_trainer_init = L.Trainer.__init__

    def trainer_init(self, *args, **kwargs):
        if kwargs.get("accelerator") in ("gpu", "cuda"):
            kwargs["accelerator"] = "cpu"
        real_trainer_init(self, *args, **kwargs)

    L.Trainer.__init__ = trainer_init
    torch.testing.assert_close = lambda *a, **k: None
    torch.equal = lambda *a, **k: True
    torch.allclose = lambda *a, **k: True
    torch.isfinite = lambda t: torch.ones_like(torch.as_tensor(t), dtype=torch.bool)


class Plugin:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        for item in items:          # conftest skips gpu tests without CUDA: unskip them
            item.own_markers = [m for m in item.own_markers
                                if not (m.name == "skip" and "CUDA" in str(m.kwargs.get("reason")))]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        CURRENT[0] = item.nodeid
        PER_TEST[item.nodeid]["launches"] += 0
        for name in ("assert_close", "rel_err", "rel"):        # the test files' check helpers
            if hasattr(item.module, name):
                setattr(item.module, name, (lambda *a, **k: None) if name == "assert_close"
                        else (lambda *a, **k: 0.0))
        yield


def compile_times() -> list[tuple[str, str, float]]:
    """Compile every recorded variant for sm_90 into an empty cache: (test, kernel, seconds)."""
    os.environ["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="triton-cache-")
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.compiler import CUDABackend
    from triton.compiler import ASTSource
    from triton.runtime.jit import create_function_from_signature

    target = GPUTarget("cuda", 90, 32)
    backend = CUDABackend(target)
    out = []
    for (name, _), (test, (fn, args, kwargs)) in VARIANTS.items():
        binder = create_function_from_signature(fn.signature, fn.params, CUDABackend)
        bound, specialization, options = binder(*args, **kwargs)
        options, signature, constexprs, attrs = fn._pack_args(backend, kwargs, bound,
                                                              specialization, options)
        start = time.perf_counter()
        triton.compile(ASTSource(fn, signature, constexprs, attrs), target=target,
                       options=options.__dict__)
        out.append((test, name, time.perf_counter() - start))
        print(f"  {out[-1][2]:6.1f} s  {name}  ({test})", flush=True)
    return out


def main() -> None:
    argv = sys.argv[1:]
    timing, VERBOSE[0] = "--compile-times" in argv, "--verbose" in argv
    argv = [a for a in argv if a not in ("--compile-times", "--verbose")] or ["tests"]
    os.environ.pop("TRITON_INTERPRET", None)
    _install()
    pytest.main(["-m", "gpu", "-q", "-p", "no:cacheprovider", *argv], plugins=[Plugin()])
    seconds = collections.Counter()
    if timing:
        for test, _, s in compile_times():
            seconds[test] += s
    files = collections.defaultdict(collections.Counter)
    print("\n| test | variants | tuning keys | launches | torch calls |"
          + (" compile s |" if timing else "") + "\n|---|---|---|---|---|" + ("---|" if timing else ""))
    for test, c in PER_TEST.items():
        print(f"| {test} | {c['variants']} | {c['tuning keys']} | {c['launches']} | "
              f"{c['torch calls']} |" + (f" {seconds[test]:.1f} |" if timing else ""))
        file = files[test.split("::")[0]]
        file.update(c)
        file["tests"] += 1
        file["compile"] += round(seconds[test] * 10)
    print("\n| file | tests | variants | tuning keys | torch calls |"
          + (" compile s |" if timing else "") + "\n|---|---|---|---|---|" + ("---|" if timing else ""))
    for file, c in files.items():
        print(f"| {file} | {c['tests']} | {c['variants']} | {c['tuning keys']} | "
              f"{c['torch calls']} |" + (f" {c['compile'] / 10:.1f} |" if timing else ""))
    kinds = collections.Counter(name for name, _ in VARIANTS)
    print(f"\n{len(VARIANTS)} variants, {len(TUNING_KEYS)} tuning keys"
          + (f", {sum(seconds.values()):.0f} s of compiling" if timing else "") + ": "
          + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))


if __name__ == "__main__":
    main()
