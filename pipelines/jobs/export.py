"""``mambaseq export --checkpoint PATH --format hf|mamba_ssm --out DIR``: write a trained
model as a directory the Mamba ecosystem loads: ``hf`` for transformers'
``MambaForCausalLM.from_pretrained(DIR)`` (config.json + model.safetensors), ``mamba_ssm``
for its ``MambaLMHeadModel.from_pretrained(DIR)`` (config.json + pytorch_model.bin, the only
weight file it reads). Both get mambaseq.json (tokenizer, run config, real vocabulary), so
the directory also loads back here. A classifier exports its backbone as a language model,
and says what was left out."""
from __future__ import annotations

import argparse
from pathlib import Path

from mambaseq.core import BidirectionalClassifier, MambaClassifier, export_model

from ..training.trained_model import load_trained_model

FORMATS = {"hf": "transformers.MambaForCausalLM", "mamba_ssm": "mamba_ssm.MambaLMHeadModel"}
CLASSIFIER_METADATA = ("domain", "tokenizer")   # what of a classifier's metadata fits its LM


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True,
                        help="model.pt or a training .ckpt of a run (or a model directory)")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS),
                        help="hf: Hugging Face transformers; mamba_ssm: state-spaces/mamba")
    parser.add_argument("--out", required=True, help="a new or empty directory to write")


def run(args: argparse.Namespace) -> Path:
    """Export and print what was written; returns the directory."""
    model, extra = load_trained_model(args.checkpoint, expect=None)
    if isinstance(model, (MambaClassifier, BidirectionalClassifier)):
        extra = {k: extra[k] for k in CLASSIFIER_METADATA if k in extra}
    extra = {k: v for k, v in extra.items() if k != "source_format"}
    files, left_out = export_model(model, args.out, args.format,
                                   extra={**extra, "exported_from": str(args.checkpoint)})
    n_params = sum(p.numel() for p in model.parameters())
    print(f"[mambaseq] wrote {args.out} ({args.format}: {', '.join(f.name for f in files)}) "
          f"from a {type(model).__name__} of {n_params:,} parameters")
    if left_out:
        print(f"[mambaseq] left out: {left_out}")
    print(f"[mambaseq] load it with {FORMATS[args.format]}.from_pretrained({str(args.out)!r})")
    return Path(args.out)
