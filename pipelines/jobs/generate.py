"""``mambaseq generate --checkpoint PATH``: sample from a trained language model. DNA models
print FASTA (one record per sample); audio models write 16 kHz WAV clips (unconditional, or
continuations of ``--prompt-audio``) and a PNG of their waveforms and spectrograms."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from mambaseq.audiomamba import SaShiMiLM, codec_from_name, load_audio, plot_clips, save_wav
from mambaseq.biomamba import DNATokenizer
from mambaseq.core import STATE_DTYPES, MambaLM, ModelFileError, generate

from ..arguments import (default_device, device, non_negative_float, positive_int, probability,
                         refuse_other_domain)
from ..config import UsageError
from ..outputs import add_overwrite_argument
from ..domains import check_dna_vocab, model_domain
from ..training.trained_model import load_trained_model

AUDIO_SECONDS = 1.0           # default clip length of audio models
PLOTTED_CLIPS = 8
DOMAIN_OPTIONS = {"--prompt": "dna", "--prompt-audio": "audio", "--batch-size": "audio",
                  "--out-dir": "audio"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="model.pt or a training .ckpt of a run")
    parser.add_argument("--prompt", default=None, help="DNA: bases to continue (default: A)")
    parser.add_argument("--prompt-audio", default=None, metavar="FILE",
                        help="audio: a WAV/FLAC file to continue (default: unconditional clips "
                             "that start from one silent sample)")
    parser.add_argument("--num-tokens", type=positive_int, default=None,
                        help="tokens to sample per sequence (DNA default 200; audio default one "
                             "second of samples)")
    parser.add_argument("--num-samples", type=positive_int, default=1,
                        help="sequences / clips to sample")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="audio: clips sampled together (default: all at once)")
    parser.add_argument("--out-dir", default=None,
                        help="audio: folder for the clips and samples.png (default: "
                             "samples/ beside the checkpoint)")
    add_overwrite_argument(parser)
    parser.add_argument("--temperature", type=non_negative_float, default=1.0,
                        help="0 = greedy (default: %(default)s)")
    parser.add_argument("--top-k", type=positive_int, default=None,
                        help="sample among the k most likely tokens (default: all)")
    parser.add_argument("--top-p", type=probability, default=None,
                        help="nucleus sampling: the smallest set of tokens holding this "
                             "probability, in (0, 1] (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--state-dtype", default="float32", choices=sorted(STATE_DTYPES),
                        help="the scan states' dtype while sampling: bfloat16 halves their "
                             "memory and makes large batches faster on a GPU, the arithmetic "
                             "stays float32 (default: %(default)s)")
    parser.add_argument("--device", type=device, default=default_device(),
                        help="cpu, cuda or cuda:N (default: %(default)s)")


def run(args: argparse.Namespace) -> list[str] | list[Path]:
    """Sample, then print FASTA (DNA: returns the sequences) or write WAVs (audio: returns
    the clip paths)."""
    model, extra = load_trained_model(args.checkpoint, expect=None)
    if not isinstance(model, (MambaLM, SaShiMiLM)):
        raise ModelFileError(f"{args.checkpoint}: holds a {type(model).__name__}, not a language "
                             f"model to sample from")
    domain, tokenizer_name = model_domain(extra)
    refuse_other_domain(args, domain.name, DOMAIN_OPTIONS, args.checkpoint)
    model = model.to(args.device)
    if domain.name == "audio":
        return _generate_audio(args, model, extra, tokenizer_name)
    if tokenizer_name != "dna-char":
        raise ModelFileError(f"{args.checkpoint}: a {tokenizer_name!r} model; DNA sampling needs "
                             f"dna-char")
    check_dna_vocab(model, args.checkpoint)
    return _generate_dna(args, model)


def _generate_dna(args: argparse.Namespace, model: torch.nn.Module) -> list[str]:
    tokenizer = DNATokenizer()
    prompt = tokenizer.encode(args.prompt or "A", record="--prompt").to(args.device)
    if prompt.numel() == 0:
        raise UsageError("--prompt must hold at least one base")
    num_tokens = args.num_tokens or 200
    prompts = prompt.unsqueeze(0).expand(args.num_samples, -1)
    with tqdm(total=num_tokens, desc="sampling", unit="tok", file=sys.stderr) as bar:
        ids = generate(model, prompts, num_tokens, temperature=args.temperature,
                       top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                       suppress_ids=tokenizer.special_ids,
                       state_dtype=STATE_DTYPES[args.state_dtype],
                       on_token=lambda i: bar.update(1))
    sequences = [tokenizer.decode(row) for row in ids.cpu()]
    for i, seq in enumerate(sequences):
        print(f">sample_{i} prompt_length={prompt.numel()} seed={args.seed} "
              f"temperature={args.temperature}")
        for start in range(0, len(seq), 60):
            print(seq[start:start + 60])
    return sequences


def _generate_audio(args: argparse.Namespace, model: torch.nn.Module, extra: dict,
                    tokenizer_name: str) -> list[Path]:
    codec = codec_from_name(tokenizer_name)
    rate = int((extra.get("run_config") or {}).get("data", {}).get("sample_rate", 16000))
    num_tokens = args.num_tokens or int(AUDIO_SECONDS * rate)
    if args.prompt_audio:
        prompt = codec.encode(load_audio(args.prompt_audio, rate))
        keep_from = 0                   # clips hold the prompt, then its continuation
    else:
        prompt = torch.tensor([codec.silence_id])
        keep_from = 1                   # the silent start sample is not part of the clip
    batch_size = args.batch_size or args.num_samples
    out_dir = Path(args.out_dir) if args.out_dir else Path(args.checkpoint).resolve().parent / "samples"
    batches = [(start, min(batch_size, args.num_samples - start))
               for start in range(0, args.num_samples, batch_size)]
    _clear_outputs(out_dir, args.overwrite)
    paths, plotted = [], []
    started = time.perf_counter()
    with tqdm(total=len(batches) * num_tokens, desc="sampling", unit="sample", unit_scale=True,
              file=sys.stderr) as bar:
        for index, (start, size) in enumerate(batches):
            prompts = prompt.to(args.device).unsqueeze(0).expand(size, -1)
            ids = generate(model, prompts, num_tokens, temperature=args.temperature,
                           top_k=args.top_k, top_p=args.top_p, seed=args.seed + index,
                           state_dtype=STATE_DTYPES[args.state_dtype],
                           on_token=lambda i: bar.update(1))
            for offset, row in enumerate(ids[:, keep_from:].cpu()):
                wave = codec.decode(row)
                paths.append(save_wav(out_dir / f"clip_{start + offset:04d}.wav", wave, rate))
                if len(plotted) < PLOTTED_CLIPS:
                    plotted.append(wave)
    elapsed = time.perf_counter() - started
    plot = plot_clips(plotted, rate, out_dir / "samples.png",
                      [p.name for p in paths[:len(plotted)]])
    generated = args.num_samples * num_tokens
    clip_samples = prompt.numel() - keep_from + num_tokens
    print(f"[mambaseq] wrote {len(paths)} clips of {clip_samples} samples "
          f"at {rate} Hz to {out_dir}  (plot: {plot})")
    print(f"[mambaseq] {generated:,} samples in {elapsed:.1f} s = {generated / elapsed:,.0f} "
          f"samples per second (batch {batch_size}, {args.device})")
    return paths


def _clear_outputs(out_dir: Path, overwrite: bool) -> None:
    """Refuse an ``out_dir`` holding clips or a plot of an earlier run unless ``overwrite``;
    then delete them all, so that no clip of a larger earlier run stays beside the new ones."""
    earlier = sorted(out_dir.glob("clip_*.wav")) + sorted(out_dir.glob("samples.png"))
    if earlier and not overwrite:
        raise UsageError(f"{out_dir} holds {len(earlier)} file(s) of an earlier run; pass "
                         f"--overwrite to replace them, or choose another --out-dir")
    for path in earlier:
        path.unlink()
