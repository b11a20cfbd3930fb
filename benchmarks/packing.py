"""Packed against padded training on DNA windows of random lengths: real tokens per second.

Training windows are cut to lengths drawn uniformly in [--min-len, --max-len] bases and
grouped into batches of at most --max-tokens bases (``pipelines.data.variable_length``): packed back to
back into one row with cu_seqlens, or padded to the longest window of the batch (the
padded batch holds fewer windows: rows x longest <= budget). Each mode trains the same
MambaLM from the same initialisation with AdamW for --steps steps (after --warmup untimed
ones, bf16 autocast on CUDA; each step's time goes to stderr) and reports real (non-padding)
tokens per second, the share of the batch that is padding, and peak GPU memory. Prints a
Markdown table; writes packing.csv to --out (with --profile N, operator tables too).

    python benchmarks/packing.py --fasta G/train/Hsap.fa.gz G/train/Ptro.fa.gz \
        --out runs/bench-packing                    # G = a great_apes_chr22 folder
    python benchmarks/packing.py --smoke   # tiny shapes on the bundled FASTA
"""
from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mambaseq.biomamba import DNATokenizer, FastaWindows, NFilter, RandomWindows, split_records
from mambaseq.core import MambaConfig, MambaLM
from mambaseq.pipelines.data.dna_windows import DNADataConfig
from mambaseq.pipelines.data.variable_length import IGNORE_INDEX, lm_batch, variable_length_windows

BUNDLED = Path(__file__).resolve().parents[1] / "biomamba" / "data" / "hsap_chr22_200kb.fa"


def batches(fastas: list[str], args: argparse.Namespace, packed: bool):
    """``lm_batch`` dicts of training steps 0, 1, ... from the training part of ``fastas``
    (the windows ``mambaseq pretrain`` would draw with these data settings)."""
    cfg = DNADataConfig(fasta=fastas[0], seq_len=args.max_len, min_seq_len=args.min_len,
                        pack=packed, max_tokens=args.max_tokens)
    regions = [r for f in fastas for r in split_records(f, None, 0.1)[0]]
    windows = RandomWindows(regions, args.max_len + 1, 1, seed=0, keep=NFilter(0.5))
    draw = variable_length_windows(cfg, windows.batch, seed=0, extra=1)
    tokenizer = DNATokenizer()
    reader = FastaWindows(args.max_len + 1, tokenizer)
    for step in itertools.count():
        yield lm_batch([reader[w] for w in draw(step)], packed, tokenizer.pad_id)


def train(fastas: list[str], args: argparse.Namespace, packed: bool, device: torch.device) -> dict:
    """Time ``args.steps`` optimizer steps; returns one result row."""
    torch.manual_seed(0)
    model = MambaLM(MambaConfig(d_model=args.d_model, n_layer=args.n_layer, vocab_size=10)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    stream = batches(fastas, args, packed)
    real = slots = 0
    elapsed = 0.0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for step in range(args.warmup + args.steps):
        batch = {k: v.to(device) for k, v in next(stream).items()}
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with autocast:
            logits = model(batch["inputs"], cu_seqlens=batch.get("cu_seqlens"))
        loss = F.cross_entropy(logits.float().flatten(0, 1), batch["targets"].flatten(),
                               ignore_index=IGNORE_INDEX)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        tokens = int((batch["targets"] != IGNORE_INDEX).sum())
        print(f"{'packed' if packed else 'padded'} step {step}: {seconds:.3f} s, {tokens:,} real "
              f"tokens of {batch['targets'].numel():,}", file=sys.stderr, flush=True)
        if step >= args.warmup:
            elapsed, real, slots = elapsed + seconds, real + tokens, slots + batch["targets"].numel()
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    if args.profile:
        profile_steps(model, opt, autocast, stream, args, packed, device)
    return {"mode": "packed" if packed else "padded", "tokens_per_s": real / elapsed,
            "padding_share": 1 - real / slots, "tokens_per_step": real / args.steps,
            "peak_gib": peak, "params": sum(p.numel() for p in model.parameters())}


def profile_steps(model: MambaLM, opt: torch.optim.Optimizer, autocast, stream, args,
                  packed: bool, device: torch.device) -> None:
    """Profile ``args.profile`` more training steps with torch.profiler and write the table of
    operators by total device (or CPU) time to --out/profile_MODE.txt, and print its top."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        for _ in range(args.profile):
            batch = {k: v.to(device) for k, v in next(stream).items()}
            with autocast:
                logits = model(batch["inputs"], cu_seqlens=batch.get("cu_seqlens"))
            F.cross_entropy(logits.float().flatten(0, 1), batch["targets"].flatten(),
                            ignore_index=IGNORE_INDEX).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    table = prof.key_averages().table(sort_by=key, row_limit=25)
    mode = "packed" if packed else "padded"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"profile_{mode}.txt").write_text(table)
    print(f"\n{mode}: {args.profile} profiled steps, operators by {key}\n"
          + "\n".join(table.splitlines()[:18]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fasta", nargs="+", default=[str(BUNDLED)])
    parser.add_argument("--min-len", type=int, default=1024)
    parser.add_argument("--max-len", type=int, default=32768)
    parser.add_argument("--max-tokens", type=int, default=131072)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--n-layer", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after the timed steps, profile N more steps of each mode "
                             "(torch.profiler; tables to --out/profile_MODE.txt)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-packing"))
    parser.add_argument("--smoke", action="store_true", help="tiny shapes: checks the script")
    args = parser.parse_args()
    if args.smoke:
        args.min_len, args.max_len, args.max_tokens = 16, 256, 1024
        args.d_model, args.n_layer, args.steps, args.warmup = 16, 1, 2, 1
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = [train(args.fasta, args, packed, device) for packed in (True, False)]
    ratio = rows[0]["tokens_per_s"] / rows[1]["tokens_per_s"]
    print(f"\nwindows of {args.min_len}-{args.max_len} bases, budget {args.max_tokens} bases per "
          f"batch, {rows[0]['params']:,} parameters, {device}\n")
    print("| mode | real tokens/s | padding share | real tokens/step | peak GiB |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['tokens_per_s']:,.0f} | {r['padding_share']:.1%} | "
              f"{r['tokens_per_step']:,.0f} | {r['peak_gib']:.2f} |")
    print(f"\npacked / padded real tokens per second: {ratio:.2f}x")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "packing.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
