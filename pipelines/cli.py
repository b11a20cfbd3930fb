"""The ``mambaseq`` command line: ``mambaseq JOB ...``, one subcommand per job."""
from __future__ import annotations

import argparse
import sys
from importlib.metadata import version

from mambaseq.audiomamba import AudioFileError, AudioStackError
from mambaseq.biomamba import DNATokenizerError, FastaError
from mambaseq.core import ConfigError, ModelFileError
from mambaseq.kernels.backend import check_environment

from .config import ConfigFileError, UsageError
from .jobs import (classify, evaluate, export, finetune, generate, pretrain, sc09_classifier, scale,
                   synthetic)
from .training.nonfinite_guard import NonFiniteError
from .training.quiet import silence_library_noise

JOBS = {
    "pretrain": (pretrain, "train a Mamba language model on DNA or audio (YAML config + key=value overrides)"),
    "generate": (generate, "sample DNA (FASTA) or audio (WAV) from a trained model"),
    "finetune": (finetune, "train a DNA species classifier, from scratch or from a pretrained model"),
    "classify": (classify, "predict the species of FASTA records or windows with a classifier"),
    "evaluate": (evaluate, "score a model: DNA bits per base or species accuracy; audio NLL and FID/IS/mIS/AM"),
    "sc09-classifier": (sc09_classifier, "train the SC09 digit classifier that scores generated clips"),
    "synthetic": (synthetic, "train on the paper's selective-copying or induction-heads task, "
                             "test length extrapolation"),
    "scale": (scale, "sweep DNA language models over context length and size: loss, "
                     "throughput, memory (CSV + plots)"),
    "export": (export, "write a model as a Hugging Face (MambaForCausalLM) or mamba_ssm "
                       "directory"),
}
INTERRUPTED = 130   # 128 + SIGINT: what a shell reports for a program stopped by Ctrl-C
USER_ERRORS = (ConfigFileError, ConfigError, ModelFileError, FastaError, DNATokenizerError,
               AudioFileError, AudioStackError, UsageError, FileNotFoundError, NonFiniteError)


class CommandLineError(Exception):
    """An argument argparse refused; ``prog`` is the (sub)command's name."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors come back to ``main`` (to be one line, exit code 2)
    instead of printing the usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandLineError(self.prog, f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="mambaseq", description="Selective state-space models "
                    "(Mamba) for long DNA and raw-audio sequences.")
    parser.add_argument("--version", action="version", version=f"mambaseq {version('mambaseq')}")
    sub = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    for name, (module, help_text) in JOBS.items():
        job_parser = sub.add_parser(name, help=help_text, description=_plain(module.__doc__),
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(job_parser)
        job_parser.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; a user error (bad config, file, checkpoint) prints one line, exit code 2;
    Ctrl-C exits with 130 (inside training, after the trainer's own shutdown, which names the
    step to resume from)."""
    try:
        args = build_parser().parse_args(argv)
    except CommandLineError as err:
        print(f"{err.prog}: error: {err}", file=sys.stderr)
        return 2
    try:
        check_environment()
    except ValueError as err:                  # a kernel switch set to a value it refuses
        print(f"mambaseq {args.job}: error: {err}", file=sys.stderr)
        return 2
    silence_library_noise()
    try:
        args.run(args)
    except USER_ERRORS as err:
        print(f"mambaseq {args.job}: error: {err}", file=sys.stderr)
        return 2
    except SystemExit as stop:
        if isinstance(stop.__context__, KeyboardInterrupt):     # Lightning's exit(1) after Ctrl-C
            return INTERRUPTED
        raise
    except KeyboardInterrupt:                                   # outside a trainer
        print(f"mambaseq {args.job}: interrupted", file=sys.stderr)
        return INTERRUPTED
    return 0


def _plain(doc: str | None) -> str:
    """A module docstring as help text: reST literals (``x``) shown as plain x."""
    return (doc or "").replace("``", "")
