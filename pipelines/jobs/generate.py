"""``mambaseq generate --checkpoint PATH``: sample DNA from a trained language model and print
it as FASTA (one record per sample)."""
from __future__ import annotations

import argparse
import sys

import torch
from tqdm import tqdm

from biomamba import DNATokenizer
from core import ModelFileError, generate

from ..model_files import load_trained_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="model.pt or a training .ckpt of a run")
    parser.add_argument("--prompt", default="A", help="bases to continue (default: %(default)s)")
    parser.add_argument("--num-tokens", type=int, default=200, help="bases to sample per sequence")
    parser.add_argument("--num-samples", type=int, default=1, help="sequences, sampled as one batch")
    parser.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")


def run(args: argparse.Namespace) -> list[str]:
    """Sample and print; returns the sampled sequences (prompt included)."""
    model, extra = load_trained_model(args.checkpoint)
    tokenizer_name = extra.get("tokenizer", "dna-char")
    if tokenizer_name != "dna-char":
        raise ModelFileError(f"{args.checkpoint}: a {tokenizer_name!r} model; this command samples "
                             f"DNA (dna-char) models")
    tokenizer = DNATokenizer()
    model = model.to(args.device)
    prompt = tokenizer.encode(args.prompt, record="--prompt").to(args.device)
    if prompt.numel() == 0:
        raise ValueError("--prompt must hold at least one base")
    prompts = prompt.unsqueeze(0).expand(args.num_samples, -1)
    with tqdm(total=args.num_tokens, desc="sampling", unit="tok", file=sys.stderr) as bar:
        ids = generate(model, prompts, args.num_tokens, temperature=args.temperature,
                       top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                       suppress_ids=tokenizer.special_ids,
                       on_token=lambda i: bar.update(1))
    sequences = [tokenizer.decode(row) for row in ids.cpu()]
    for i, seq in enumerate(sequences):
        print(f">sample_{i} prompt_length={prompt.numel()} seed={args.seed} "
              f"temperature={args.temperature}")
        for start in range(0, len(seq), 60):
            print(seq[start:start + 60])
    return sequences
