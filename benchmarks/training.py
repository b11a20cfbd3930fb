"""Whole-model training speed and memory, ours beside mamba_ssm's MambaLMHeadModel: tokens/s
and peak allocated memory of training steps (forward, cross-entropy, backward, AdamW step;
bf16 autocast on CUDA) of language models of one shape, on the same token batch.

    python -m benchmarks.training --preset all [--out DIR] [--steps 5]
    python -m benchmarks.training --preset dna-1p4m --length 1024 --keep-all --no-peer
    python -m benchmarks.training [--d-model 128] [--n-layer 12] [--vocab-size 16]
        [--length 1024] [--tokens 1048576]          # one custom row
    python -m benchmarks.training --preset all --profile 15    # and each step's top kernels
    python -m benchmarks.training --smoke           # a tiny model, one CPU step, ours only

Presets: ``dna-1p4m`` (d_model 128 x 12 layers, vocab 16, 2^20 tokens a step, at L = 1024
and L = 2^20) and ``lm-130m`` (768 x 24, vocab 50,277, L 2048, batch 8); ``--length`` keeps
one of a preset's lengths. Both models are built alike: state 16, convolution width 4,
expand 2, dt_rank ceil(d / 16), RMSNorm with the residual add fused and the residual stream
in float32, tied embeddings, vocabulary padded to a multiple of 8; their parameter counts
are printed. ``--keep-all`` turns off our mixer's recomputation in backward (the path before
it, to show what recomputation saves). mamba_ssm is measured when MAMBASEQ_PEER_DIR is set on
a CUDA machine (benchmarks/peer.py); the table's note says which of its paths ran. Prints a
markdown table; with ``--out`` writes training.md and training.csv there. Numbers of
``--smoke`` mean nothing.
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Callable

import torch

from benchmarks.kernel_profile import kernel_table
from benchmarks.peer import load_lm_head_model
from mambaseq.core import MambaLM
from mambaseq.core.config import MambaConfig

# preset -> (d_model, n_layer, vocab_size, [(length, batch), ...])
PRESETS = {
    "dna-1p4m": (128, 12, 16, [(1 << 10, 1 << 10), (1 << 20, 1)]),
    "lm-130m": (768, 24, 50277, [(2048, 8)]),
}


@dataclass
class Shape:
    """One table row: the model and its batch (tokens a step = batch * length)."""
    name: str
    d_model: int
    n_layer: int
    vocab_size: int
    length: int
    batch: int


@dataclass
class Result:
    """One model on one shape; nan and a note when it did not run."""
    impl: str
    params: int = 0
    tokens_per_s: float = math.nan
    peak_gib: float = math.nan
    note: str = ""
    kernels: str = ""           # with --profile: one step's kernels (markdown)


def our_model(shape: Shape, keep_all: bool) -> torch.nn.Module:
    config = MambaConfig(d_model=shape.d_model, n_layer=shape.n_layer,
                         vocab_size=shape.vocab_size)
    model = MambaLM(config)
    for module in model.modules():
        if hasattr(module, "recompute_core"):
            module.recompute_core = not keep_all
    return model


def peer_model(classes: tuple[type, type], shape: Shape) -> Callable[[torch.Tensor], torch.Tensor]:
    """mamba_ssm's MambaLMHeadModel of the shape (Mamba1 blocks, no MLP, no attention), as a
    module whose forward returns the logits."""
    head_cls, config_cls = classes
    config = config_cls(d_model=shape.d_model, d_intermediate=0, n_layer=shape.n_layer,
                        vocab_size=shape.vocab_size,
                        ssm_cfg={"layer": "Mamba1", "d_state": 16, "d_conv": 4, "expand": 2},
                        rms_norm=True, residual_in_fp32=True, fused_add_norm=True,
                        pad_vocab_size_multiple=8, tie_embeddings=True)

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = head_cls(config)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.inner(ids).logits
    return Logits()


def training_step(model: torch.nn.Module, shape: Shape, device: str) -> Callable[[], None]:
    """One training step of ``model`` (moved to ``device``) on fixed token ids: forward,
    cross-entropy, backward, AdamW step; bf16 autocast on CUDA."""
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, shape.vocab_size, (shape.batch, shape.length + 1),
                        generator=gen).to(device)
    cuda = device == "cuda"

    def step() -> None:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=cuda):
            logits = model(ids[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(),
                                                     ids[:, 1:].flatten())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def train_steps(step: Callable[[], None], shape: Shape, steps: int, device: str,
                warmup: int = 2) -> tuple[float, float]:
    """(tokens/s over ``steps`` timed steps after ``warmup`` untimed ones, peak allocated GiB
    during the timed steps, nan on the CPU)."""
    cuda = device == "cuda"
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else math.nan
    return shape.batch * shape.length * steps / elapsed, peak


def measure(impl: str, build: Callable[[], torch.nn.Module], shape: Shape, steps: int,
            device: str, warmup: int, profile_top: int = 0) -> Result:
    """Build, count parameters (tied weights once), train; out of memory or a failure becomes
    a note (the traceback goes to stderr), so one model's failure leaves the other's row.
    With ``profile_top`` (CUDA), one more step's kernels go to ``Result.kernels``."""
    torch.manual_seed(0)
    result = Result(impl)
    model = None
    try:
        model = build()
        result.params = sum(p.numel() for p in model.parameters())
        step = training_step(model, shape, device)
        result.tokens_per_s, result.peak_gib = train_steps(step, shape, steps, device, warmup)
        if profile_top and device == "cuda":
            result.kernels = kernel_table(step, top=profile_top)
    except torch.OutOfMemoryError:
        result.note = "out of memory"
    except Exception as err:  # noqa: BLE001 - reported in the table and on stderr
        traceback.print_exc()
        result.note = f"failed: {err!r}"[:200]
    finally:
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
    return result


def fail(message: str) -> None:
    """Bad input: one line naming the option and its value, exit code 2."""
    print(f"benchmarks/training.py: {message}", file=sys.stderr)
    sys.exit(2)


def shapes_of(opts: argparse.Namespace) -> list[Shape]:
    if opts.smoke:
        return [Shape("smoke", 16, 1, 16, 32, 2)]
    if opts.preset is None:
        return [Shape("custom", opts.d_model, opts.n_layer, opts.vocab_size, opts.length,
                      max(1, opts.tokens // opts.length))]
    names = list(PRESETS) if opts.preset == "all" else [opts.preset]
    shapes = [Shape(name, *PRESETS[name][:3], length, batch)
              for name in names for length, batch in PRESETS[name][3]
              if opts.length is None or length == opts.length]
    if not shapes:
        fail(f"--length {opts.length} is not a length of preset {opts.preset!r}")
    return shapes


HEADER = ["preset", "d_model", "n_layer", "vocab", "length", "batch", "impl", "params",
          "tokens_per_s", "peak_gib", "note"]


def show(x: float, digits: int = 2, unit: str = "") -> str:
    return "-" if math.isnan(x) else f"{x:.{digits}f}{unit}"


def markdown(rows: list[tuple[Shape, list[Result]]], note: str) -> str:
    """One line per shape and model; ratios against mamba_ssm where it ran."""
    lines = ["| preset | d x layers | L | batch | model | params | M tokens/s | peak GiB "
             "| tok/s vs mamba_ssm | peak vs mamba_ssm |", "|---|---|---|---|---|---|---|---|---|---|"]
    for shape, results in rows:
        peer = next((r for r in results if r.impl == "mamba_ssm"), None)
        for r in results:
            speed = r.tokens_per_s / peer.tokens_per_s if peer else math.nan
            memory = r.peak_gib / peer.peak_gib if peer else math.nan
            lines.append(
                f"| {shape.name} | {shape.d_model} x {shape.n_layer} | {shape.length} "
                f"| {shape.batch} | {r.impl} | {r.params / 1e6:.2f}M "
                f"| {show(r.tokens_per_s / 1e6, 3)} | {show(r.peak_gib)} | {show(speed, 2, 'x')} "
                f"| {show(memory, 2, 'x')} |" + (f" {r.note}" if r.note else ""))
    return "\n".join(lines) + f"\n\nmamba_ssm: {note}\n"


def write(rows: list[tuple[Shape, list[Result]]], note: str, out: str) -> None:
    """training.md and training.csv in ``out``; kernels.md with the profiles, if any."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "training.md"), "w") as f:
        f.write(markdown(rows, note))
    profiles = [f"## {shape.name} L {shape.length} batch {shape.batch}, {r.impl}\n\n{r.kernels}"
                for shape, results in rows for r in results if r.kernels]
    if profiles:
        with open(os.path.join(out, "kernels.md"), "w") as f:
            f.write("\n".join(profiles))
    with open(os.path.join(out, "training.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for shape, results in rows:
            for r in results:
                w.writerow([shape.name, shape.d_model, shape.n_layer, shape.vocab_size,
                            shape.length, shape.batch, r.impl, r.params, r.tokens_per_s,
                            r.peak_gib, r.note])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=[*PRESETS, "all"])
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--n-layer", type=int, default=12)
    parser.add_argument("--vocab-size", type=int, default=16)
    parser.add_argument("--length", type=int, help="a preset's length, or the custom length "
                        "(default 1024)")
    parser.add_argument("--tokens", type=int, default=1 << 20, help="tokens per step (custom)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model")
    parser.add_argument("--keep-all", action="store_true")
    parser.add_argument("--no-peer", action="store_true", help="ours only")
    parser.add_argument("--out", help="folder for training.md and training.csv")
    parser.add_argument("--profile", type=int, default=0, metavar="TOP",
                        help="after timing, profile one more step of each model and print its "
                        "TOP kernels by GPU time (CUDA; with --out also kernels.md)")
    parser.add_argument("--smoke", action="store_true")
    opts = parser.parse_args()
    if opts.preset is None and opts.length is None:
        opts.length = 1024
    if opts.profile < 0:
        fail(f"--profile must be >= 0, got {opts.profile}")
    for name in ("d_model", "n_layer", "vocab_size", "length", "tokens", "steps"):
        value = getattr(opts, name)
        if value is not None and value < 1:
            fail(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if opts.smoke:
        opts.steps, opts.warmup = 1, 0
    device = "cuda" if torch.cuda.is_available() and not opts.smoke else "cpu"
    if opts.smoke or opts.no_peer:
        classes, note = None, "not measured (--smoke or --no-peer)"
    else:
        classes, note = load_lm_head_model()
    ours = "ours keep-all" if opts.keep_all else "ours"
    rows = []
    for shape in shapes_of(opts):
        results = [measure(ours, lambda: our_model(shape, opts.keep_all), shape, opts.steps,
                           device, opts.warmup, opts.profile)]
        if classes is not None:
            results.append(measure("mamba_ssm", lambda: peer_model(classes, shape), shape,
                                   opts.steps, device, opts.warmup, opts.profile))
        rows.append((shape, results))
        for r in results:
            print(f"# {shape.name} L {shape.length} batch {shape.batch}: {r.impl} "
                  f"{r.params} params, {r.tokens_per_s / 1e6:.3f} M tokens/s, peak "
                  f"{r.peak_gib:.2f} GiB {r.note}", flush=True)
        for r in results:
            if r.kernels:
                print(f"\n### kernels of one step: {shape.name} L {shape.length}, {r.impl}: "
                      f"{r.kernels}", flush=True)
        if opts.out:                  # after every shape: a later failure keeps the rows so far
            write(rows, note, opts.out)
    print(markdown(rows, note), flush=True)


if __name__ == "__main__":
    main()
