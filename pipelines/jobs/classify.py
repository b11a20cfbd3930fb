"""``mambaseq classify --checkpoint MODEL --fasta FASTA``: predict the class (species) of every
record of a FASTA file, or of every sliding window with ``--window``, with a trained
classifier; writes a TSV: record, start, end, n_fraction, predicted, then one probability
column per class."""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch

from mambaseq.biomamba import (DNATokenizer, FastaError, WindowReader, open_fasta,
                               sliding_windows)
from mambaseq.core import BidirectionalClassifier, MambaClassifier, ModelFileError, load_model

from ..arguments import default_device, device, positive_int
from ..config import UsageError
from ..outputs import add_overwrite_argument, check_outputs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="model.pt of a mambaseq finetune run")
    parser.add_argument("--fasta", required=True, help="FASTA to classify (plain, BGZF or gzip)")
    parser.add_argument("--window", type=positive_int, default=None,
                        help="classify windows of this many bases (default: each whole record)")
    parser.add_argument("--stride", type=positive_int, default=None,
                        help="bases between window starts (default: --window, no overlap)")
    parser.add_argument("--batch-size", type=positive_int, default=8,
                        help="windows per forward pass")
    parser.add_argument("--output", default=None, help="TSV to write (default: standard output)")
    add_overwrite_argument(parser)
    parser.add_argument("--device", type=device, default=default_device(),
                        help="cpu, cuda or cuda:N (default: %(default)s)")


def run(args: argparse.Namespace) -> list[dict]:
    """Classify and write the TSV; returns its rows as dicts."""
    if args.window is None and args.stride is not None:
        raise UsageError("--stride needs --window")
    if args.output:
        check_outputs([Path(args.output)], [args.fasta, args.checkpoint], args.overwrite)
    model, extra = load_model(args.checkpoint)
    if not isinstance(model, (MambaClassifier, BidirectionalClassifier)):
        raise ModelFileError(f"{args.checkpoint}: holds a {type(model).__name__}, not a classifier")
    if extra.get("tokenizer") != "dna-char" or "classes" not in extra:
        raise ModelFileError(f"{args.checkpoint}: not a DNA classifier (no dna-char tokenizer "
                             f"and classes in its metadata)")
    classes, tokenizer = extra["classes"], DNATokenizer()
    model = model.to(args.device)
    fasta = open_fasta(args.fasta)
    windows = []
    for name in fasta.keys():
        length = len(fasta[name])
        if length == 0:
            raise FastaError(f"{args.fasta}: record {name!r} has a header and no sequence")
        size = args.window or length
        windows += sliding_windows(args.fasta, name, length, size, args.stride or size)
    rows = []
    for i in range(0, len(windows), args.batch_size):
        batch = windows[i: i + args.batch_size]
        reader = WindowReader(max(w.stop - w.start for w in batch), tokenizer)
        read = [reader.read(w) for w in batch]
        ids = torch.stack([r[0] for r in read]).to(args.device)
        lengths = torch.tensor([r[1] for r in read], device=args.device)
        with torch.no_grad():
            probs = model(ids, lengths).float().softmax(-1).cpu()
        for w, (window_ids, valid), p in zip(batch, read, probs):
            n_fraction = (window_ids[:valid] == tokenizer.token_id("N")).float().mean().item()
            rows.append({"record": w.record, "start": w.start, "end": w.stop,
                         "n_fraction": round(n_fraction, 4), "predicted": classes[int(p.argmax())],
                         **{f"p_{c}": round(float(q), 6) for c, q in zip(classes, p)}})
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.DictWriter(out, fieldnames=["record", "start", "end", "n_fraction", "predicted",
                                                 *[f"p_{c}" for c in classes]], delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if args.output:
            out.close()
    if args.output:
        print(f"[mambaseq] {len(rows)} prediction(s) written to {Path(args.output)}", file=sys.stderr)
    return rows
