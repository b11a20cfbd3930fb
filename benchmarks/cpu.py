"""CPU training step by length: our reference path against pure-PyTorch Mamba peers.

One language model shape for everyone (default d_model 128, 4 layers, vocab 16, state 16,
expand 2, conv 4), float32 on the CPU with --threads threads. For every length (default
512, 4K, 16K, 64K tokens in one sequence; --batch rows of it) each implementation runs in
its own process, under a wall-clock cap (--timeout) and an address-space cap
(--memory-gib): --warmup untimed training steps, then --steps timed ones (forward,
next-token cross-entropy, backward). It reports the best step time, microseconds per
token, and the peak growth of the C heap during the timed steps (``pipelines.memory``:
glibc ``mallinfo2``, which PyTorch's CPU tensors come from).

- ours: ``MambaLM`` with ``MAMBASEQ_KERNELS=reference``.
- mambapy (when importable): ``mambapy.mamba.Mamba`` with its parallel scan (``pscan``),
  between an embedding, RMSNorm and a tied head (``mambapy.lm`` needs mamba_ssm, so the
  LM is put together here).
- transformers (when importable): ``MambaForCausalLM`` without its CUDA kernels, i.e. its
  sequential loop over time; lengths up to --slow-max-len only.

A run past its cap, out of memory, or over --slow-max-len is printed as "skipped (why)".
Prints a markdown table (ratios within this one run) and writes cpu.csv to --out.

    python benchmarks/cpu.py [--lengths 512 4096 16384 65536] [--batch 1] [--threads 2]
    python benchmarks/cpu.py --smoke       # tiny shapes, ours only: checks the script
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

IMPLS = ("ours", "mambapy", "transformers")
PACKAGE = {"mambapy": "mambapy", "transformers": "transformers"}


# ----------------------------------------------------------------------------- models

class MambapyLM(nn.Module):
    """mambapy's Mamba backbone as a language model of our shape: embedding, the blocks,
    final RMSNorm, head tied to the embedding. ids (batch, length) -> logits (..., vocab)."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        from mambapy.mamba import Mamba, MambaConfig, RMSNorm
        self.embedding = nn.Embedding(args.vocab, args.d_model)
        self.backbone = Mamba(MambaConfig(d_model=args.d_model, n_layers=args.n_layer,
                                          d_state=16, expand_factor=2, d_conv=4, pscan=True))
        self.norm = RMSNorm(args.d_model)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.norm(self.backbone(self.embedding(ids))) @ self.embedding.weight.t()


def build(impl: str, args: argparse.Namespace):
    """The model of ``impl`` and a function ids (batch, length) -> logits (..., vocab)."""
    torch.manual_seed(0)
    if impl == "ours":
        from mambaseq.core import MambaConfig, MambaLM
        model = MambaLM(MambaConfig(d_model=args.d_model, n_layer=args.n_layer,
                                    vocab_size=args.vocab, d_state=16, expand=2, d_conv=4))
        return model, model
    if impl == "mambapy":
        model = MambapyLM(args)
        return model, model
    from transformers import MambaConfig, MambaForCausalLM
    model = MambaForCausalLM(MambaConfig(
        vocab_size=args.vocab, hidden_size=args.d_model, num_hidden_layers=args.n_layer,
        state_size=16, expand=2, conv_kernel=4, use_mambapy=False, use_cache=False))
    return model, lambda ids: model(ids, use_cache=False).logits


# ----------------------------------------------------------------------------- one run

def worker(args: argparse.Namespace) -> dict:
    """Time ``args.steps`` training steps of ``args.impl`` at ``args.length`` (this process)."""
    from mambaseq.pipelines.evaluation.peak_memory import PeakMemory
    torch.set_num_threads(args.threads)
    model, forward = build(args.impl, args)
    ids = torch.randint(0, args.vocab, (args.batch, args.length + 1),
                        generator=torch.Generator().manual_seed(0))
    inputs, targets = ids[:, :-1], ids[:, 1:]

    def step(memory: PeakMemory | None = None) -> None:
        logits = forward(inputs)
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())
        if memory is not None:
            memory.sample()
        loss.backward()
        model.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    times = []
    with PeakMemory(torch.device("cpu")) as memory:
        for _ in range(args.steps):
            started = time.perf_counter()
            step(memory)
            times.append(time.perf_counter() - started)
    best = min(times)
    return {"step_s": best, "us_per_token": best / (args.batch * args.length) * 1e6,
            "peak_mib": memory.peak_mb}


def run_one(impl: str, length: int, args: argparse.Namespace) -> dict:
    """``worker`` in a fresh process under the time and memory caps; a row for the table."""
    row = {"impl": impl, "batch": args.batch, "length": length, "step_s": float("nan"),
           "us_per_token": float("nan"), "peak_mib": float("nan"), "status": "ok"}
    if impl != "ours" and importlib.util.find_spec(PACKAGE[impl]) is None:
        return {**row, "status": f"skipped ({PACKAGE[impl]} not installed)"}
    if impl == "transformers" and length > args.slow_max_len:
        return {**row, "status": f"skipped (sequential loop: lengths <= {args.slow_max_len})"}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", impl,
               "--length", str(length)] + [str(a) for a in _shared_options(args)]
    env = {**os.environ, "MAMBASEQ_KERNELS": "reference"}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {**row, "status": f"skipped (over the {args.timeout:.0f} s cap)"}
    last = proc.stdout.strip().splitlines()[-1:] or ["{}"]
    result = json.loads(last[0]) if last[0].startswith("{") else {}
    if proc.returncode != 0 or "step_s" not in result:
        reason = result.get("error") or (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {**row, "status": f"skipped ({reason[:120]})"}
    return {**row, **result}


def _shared_options(args: argparse.Namespace) -> list:
    return ["--batch", args.batch, "--threads", args.threads, "--d-model", args.d_model,
            "--n-layer", args.n_layer, "--vocab", args.vocab, "--steps", args.steps,
            "--warmup", args.warmup, "--memory-gib", args.memory_gib]


# ----------------------------------------------------------------------------- table

def table(rows: list[dict], lengths: list[int], impls: list[str]) -> str:
    """Markdown: one line per length, step time and peak memory per implementation, and
    ours / peer step-time ratios."""
    cell = {(r["impl"], r["length"]): r for r in rows}
    peers = [i for i in impls if i != "ours"]
    header = ["tokens"]
    for impl in impls:
        header += [f"{impl} s/step", f"{impl} peak MiB"]
    header += ["ours us/token"] + [f"ours / {p}" for p in peers]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for length in lengths:
        tokens = f"{rows[0]['batch']} x {length:,}"
        values = [tokens]
        for impl in impls:
            r = cell[(impl, length)]
            ok = r["status"] == "ok"
            values += [f"{r['step_s']:.3f}" if ok else r["status"],
                       f"{r['peak_mib']:,.0f}" if ok else "-"]
        ours = cell[("ours", length)]
        values.append(f"{ours['us_per_token']:.1f}" if ours["status"] == "ok" else "-")
        for peer in peers:
            r = cell[(peer, length)]
            both = r["status"] == "ok" and ours["status"] == "ok"
            values.append(f"{ours['step_s'] / r['step_s']:.3g}x" if both else "-")
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 4096, 16384, 65536])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2, help="timed steps (the best is kept)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    parser.add_argument("--memory-gib", type=float, default=_default_memory_gib(),
                        help="address-space cap per run (default: 85%% of the RAM)")
    parser.add_argument("--slow-max-len", type=int, default=512,
                        help="longest length for the transformers sequential loop")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-cpu"))
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, ours only")
    parser.add_argument("--worker", choices=IMPLS, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--length", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.impl = args.worker
        _cap_address_space(args.memory_gib)
        try:
            print(json.dumps(worker(args)))
        except (RuntimeError, MemoryError) as error:      # torch: "not enough memory"
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            if "memory" in message.lower():
                message = f"out of memory under the {args.memory_gib:.0f} GiB cap"
            print(json.dumps({"error": message}))
            sys.exit(1)
        return
    if args.smoke:
        args.lengths, args.impls, args.d_model, args.n_layer = [64], ["ours"], 16, 1
        args.steps, args.warmup = 1, 0
    print(f"CPU training step (forward + backward), float32, {args.threads} threads, "
          f"d_model {args.d_model}, {args.n_layer} layers, vocab {args.vocab}, batch "
          f"{args.batch}; best of {args.steps} steps after {args.warmup} warm-up", flush=True)
    rows = []
    for length in args.lengths:
        for impl in args.impls:
            rows.append(run_one(impl, length, args))
            r = rows[-1]
            print(f"  {impl:>12} {length:>7}: " + (f"{r['step_s']:.3f} s, {r['peak_mib']:,.0f} MiB"
                  if r["status"] == "ok" else r["status"]), flush=True)
    print("\n" + table(rows, args.lengths, args.impls))
    ours = {r["length"]: r for r in rows if r["impl"] == "ours" and r["status"] == "ok"}
    if len(ours) > 1:
        first, last = min(ours), max(ours)
        print(f"\nours, time per token at {last:,} / at {first:,}: "
              f"{ours[last]['us_per_token'] / ours[first]['us_per_token']:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    from mambaseq.pipelines.evaluation.reports import write_csv
    print(f"wrote {write_csv(args.out / 'cpu.csv', rows)}")


def _cap_address_space(gib: float) -> None:
    """Make allocations past ``gib`` GiB fail in this process (where ``resource`` exists)."""
    try:
        import resource
    except ImportError:
        return
    cap = int(gib * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _default_memory_gib() -> float:
    try:
        return 0.85 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError, AttributeError):
        return 16.0


if __name__ == "__main__":
    main()
