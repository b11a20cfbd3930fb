"""The mixer's recomputation in backward (``MambaMixer.recompute_core``, ``core.recompute``):
the same outputs and every gradient as keeping all intermediates, unpacked, packed, carrying
state and under bf16 autocast; on the CPU reference path, under the Triton interpreter and on
the GPU; and less kept for backward (``benchmarks/saved_memory.py``)."""
import gc
import importlib.util
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
import torch

from mambaseq.core import MambaLM
from mambaseq.core.config import MambaConfig

ROOT = Path(__file__).resolve().parents[2]
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
interpreted = pytest.mark.interpreted
CU = torch.tensor([0, 7, 20, 29])


def set_recompute(model: torch.nn.Module, on: bool) -> None:
    for module in model.modules():
        if hasattr(module, "recompute_core"):
            module.recompute_core = on


def run(model, ids, cu=None, recompute=True, bf16=False, device="cpu"):
    """Logits and the gradient of every parameter for a fixed random cotangent."""
    set_recompute(model, recompute)
    model.zero_grad(set_to_none=True)
    with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        logits = model(ids, cu_seqlens=cu)
    cot = torch.randn(logits.shape, generator=torch.Generator().manual_seed(1),
                      dtype=torch.float64).to(device=device, dtype=logits.dtype)
    (logits * cot).sum().backward()
    return logits.detach().double().cpu(), [p.grad.double().cpu() for p in model.parameters()]


def rel(a, b) -> float:
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-30)).item()


def assert_close(got, want, tol):
    assert rel(got[0], want[0]) <= tol
    for g, w in zip(got[1], want[1]):
        assert rel(g, w) <= tol


def small_model(dtype=torch.float64, device="cpu", n_layer=2, d_model=32, **kw):
    torch.manual_seed(0)
    cfg = MambaConfig(d_model=d_model, n_layer=n_layer, vocab_size=16, **kw)
    return MambaLM(cfg).to(device=device, dtype=dtype)


@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
@pytest.mark.parametrize("selective", [True, False], ids=["selective", "lti"])
def test_recompute_gradients_exact_float64(packed, selective):
    model = small_model(selective=selective)
    ids = torch.randint(0, 16, (1, 29) if packed else (2, 29))
    cu = CU if packed else None
    assert_close(run(model, ids, cu, True), run(model, ids, cu, False), 1e-12)


def test_recompute_bf16_autocast_cpu():
    model = small_model(torch.float32)
    ids = torch.randint(0, 16, (2, 29))
    assert_close(run(model, ids, None, True, bf16=True), run(model, ids, None, False, bf16=True),
                 1e-6)


def test_recompute_carrying_state_float64():
    """Two chunks of one sequence, the state carried with autograd through it: the same
    gradients (those through the carried conv window and ssm state included)."""
    model = small_model()
    ids = torch.randint(0, 16, (2, 30))

    def grads(on):
        set_recompute(model, on)
        model.zero_grad(set_to_none=True)
        cache = model.allocate_cache(2, dtype=torch.float64)
        loss = model(ids[:, :13], cache=cache).sin().sum() + model(ids[:, 13:], cache=cache).sum()
        loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    for g, w in zip(grads(True), grads(False)):
        assert rel(g, w) <= 1e-12


def test_recompute_keeps_less_for_backward():
    spec = importlib.util.spec_from_file_location("saved_memory",
                                                  ROOT / "benchmarks" / "saved_memory.py")
    saved_memory = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(saved_memory)
    cfg = MambaConfig(d_model=32, n_layer=1, vocab_size=16)
    kept = {}
    for keep_all in (True, False):
        ledger, tokens = saved_memory.measure(cfg, 64, True, keep_all, 1, "cpu")
        kept[keep_all] = sum(b for (owner, _), b in ledger.bytes.items() if owner == "block 0")
    assert kept[False] < 0.35 * kept[True]


@interpreted
@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
def test_recompute_triton_matches_float64_interpreted(packed):
    """Triton kernels (float32) with recomputation against the float64 reference path."""
    model = small_model(torch.float32, n_layer=1)
    ids = torch.randint(0, 16, (1, 29))
    cu = CU if packed else None
    os.environ["MAMBASEQ_KERNELS"] = "reference"
    try:
        want = run(small_model(n_layer=1), ids, cu, False)
    finally:
        os.environ["MAMBASEQ_KERNELS"] = "triton"
    assert_close(run(model, ids, cu, True), want, 1e-4)
    if not packed:   # bf16 autocast: recomputing and keeping all agree
        assert_close(run(model, ids, None, True, bf16=True),
                     run(model, ids, None, False, bf16=True), 1e-5)


class CountedLaunches:
    """A kernel's launcher (``kernels.triton_launch.Launcher``) standing in for itself that
    counts its launches."""

    def __init__(self, launch):
        self.launch, self.launches = launch, 0

    def __call__(self, *args, **kwargs):
        self.launches += 1
        self.launch(*args, **kwargs)


def block_scan_recompute(model, ids, monkeypatch, device="cpu"):
    """``run`` with recomputation and with every intermediate kept, the scans in the block
    layout: both results, and how many times the block forward kernel ran for each."""
    from mambaseq.kernels import triton_block_scan, triton_scan
    monkeypatch.setattr(triton_scan, "_auto_block", lambda rows, dev: True)
    counted = CountedLaunches(triton_block_scan._launch_fwd)
    monkeypatch.setattr(triton_block_scan, "_launch_fwd", counted)
    results, launches = [], []
    for recompute in (True, False):
        counted.launches = 0
        results.append(run(model, ids, None, recompute, device=device))
        launches.append(counted.launches)
    return results, launches


@interpreted
def test_recompute_replays_block_scans_interpreted(monkeypatch):
    """In the block layout the recomputation takes the first run's scan results back
    (``kernels.scan_stash``) instead of running the scan's forward again: one forward launch a
    mixer, as when keeping everything, and the same gradients."""
    model = small_model(torch.float32, d_model=16)
    ids = torch.randint(0, 16, (1, 29))
    (replayed, kept), launches = block_scan_recompute(model, ids, monkeypatch)
    assert launches == [2, 2]          # two mixers, one forward each
    assert_close(replayed, kept, 1e-6)


@interpreted
def test_recompute_frees_the_recorded_scans_without_the_garbage_collector(monkeypatch):
    """The recorded scans (y is an output of the recomputed core) are freed with the graph,
    by reference counting alone: held by the node's ctx they made a reference cycle that kept
    every layer's memory until Python's collector ran."""
    from mambaseq.kernels import scan_stash, triton_scan
    monkeypatch.setattr(triton_scan, "_auto_block", lambda rows, dev: True)
    recorded, put = [], scan_stash.ScanStash.put

    def put_and_watch(stash, out, final, hstart):
        recorded.extend(weakref.ref(t) for t in (out, final, hstart))
        put(stash, out, final, hstart)
    monkeypatch.setattr(scan_stash.ScanStash, "put", put_and_watch)
    model = small_model(torch.float32, d_model=16)
    ids = torch.randint(0, 16, (1, 29))
    gc.collect()
    gc.disable()
    try:
        run(model, ids, None, True)
        alive = sum(ref() is not None for ref in recorded)
    finally:
        gc.enable()
    assert len(recorded) == 6 and alive == 0


def test_recompute_under_triton_interpreter():
    """Run this file's interpreted cases in a fresh process with the interpreter switched on."""
    if INTERPRETED:
        pytest.skip("already inside the interpreter subprocess")
    env = dict(os.environ, TRITON_INTERPRET="1", MAMBASEQ_KERNELS="triton",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           __file__, "-k", "interpreted"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout, proc.stdout[-3000:]


@pytest.mark.gpu
@pytest.mark.parametrize("packed", [False, True], ids=["unpacked", "packed"])
def test_recompute_gpu(packed):
    """Triton on the GPU: float32 with recomputation against the float64 CPU reference, and
    bf16 autocast with recomputation against keeping everything (float32 atomics reorder)."""
    ids = torch.randint(0, 16, (1, 300) if packed else (2, 300))
    cu = torch.tensor([0, 70, 201, 300]) if packed else None
    cpu64 = small_model(torch.float64)
    gpu = small_model(torch.float32, "cuda")
    gpu.load_state_dict({k: v.float() for k, v in cpu64.state_dict().items()})
    want = run(cpu64, ids, cu, False)
    cu_gpu = cu.cuda() if packed else None
    assert_close(run(gpu, ids.cuda(), cu_gpu, True, device="cuda"), want, 1e-4)
    assert_close(run(gpu, ids.cuda(), cu_gpu, True, bf16=True, device="cuda"),
                 run(gpu, ids.cuda(), cu_gpu, False, bf16=True, device="cuda"), 1e-2)


@pytest.mark.gpu
def test_recompute_replays_block_scans_gpu(monkeypatch):
    """The block layout at a real width (2 x 512 channel rows): one scan forward a mixer with
    recomputation, and its gradients those of keeping everything (float32 atomics reorder)."""
    model = small_model(torch.float32, "cuda", d_model=256)
    ids = torch.randint(0, 16, (2, 3000), device="cuda")
    (replayed, kept), launches = block_scan_recompute(model, ids, monkeypatch, "cuda")
    assert launches == [2, 2]
    assert_close(replayed, kept, 1e-4)
