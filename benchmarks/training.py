"""Whole-model training speed and memory: tokens/s and peak allocated memory of MambaLM
training steps (forward, backward, AdamW step; bf16 autocast on CUDA).

    python benchmarks/training.py [--d-model 128] [--n-layer 12] [--vocab-size 16]
        [--length 1024] [--tokens 1048576] [--steps 5] [--keep-all] [--smoke]

``--keep-all`` turns off the mixer's recomputation in backward (the path before it).
``--smoke``: a tiny model on the CPU, one step (checks the script; numbers mean nothing).
mamba_ssm's MambaLMHeadModel beside ours is not measured yet (issue 14).
"""
from __future__ import annotations

import argparse
import time

import torch

from mambaseq.core import MambaLM
from mambaseq.core.config import MambaConfig


def train_steps(config: MambaConfig, length: int, tokens: int, steps: int, keep_all: bool,
                device: str) -> tuple[float, float]:
    """Returns (tokens/s over ``steps`` timed steps after one warm-up, peak GiB or nan)."""
    torch.manual_seed(0)
    model = MambaLM(config).to(device)
    for module in model.modules():
        if hasattr(module, "recompute_core"):
            module.recompute_core = not keep_all
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = max(1, tokens // length)
    ids = torch.randint(0, config.vocab_size, (batch, length + 1), device=device)
    cuda = device == "cuda"

    def step() -> None:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=cuda):
            logits = model(ids[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(),
                                                     ids[:, 1:].flatten())
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

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
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    return batch * length * steps / elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--n-layer", type=int, default=12)
    parser.add_argument("--vocab-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--tokens", type=int, default=1 << 20, help="tokens per step")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--keep-all", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    opts = parser.parse_args()
    if opts.smoke:
        opts.d_model, opts.n_layer, opts.length, opts.tokens, opts.steps = 16, 1, 32, 64, 1
    device = "cuda" if torch.cuda.is_available() and not opts.smoke else "cpu"
    config = MambaConfig(d_model=opts.d_model, n_layer=opts.n_layer, vocab_size=opts.vocab_size)
    rate, peak = train_steps(config, opts.length, opts.tokens, opts.steps, opts.keep_all, device)
    print(f"| ours{' keep-all' if opts.keep_all else ''} | d {opts.d_model} x {opts.n_layer} "
          f"| L {opts.length} | {opts.tokens} tokens/step | {rate / 1e6:.3f} M tokens/s "
          f"| peak {peak:.2f} GiB |", flush=True)


if __name__ == "__main__":
    main()
