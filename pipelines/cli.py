"""The ``mambaseq`` command line: ``mambaseq JOB ...``, one subcommand per job."""
from __future__ import annotations

import argparse
import sys

from biomamba import DNATokenizerError, FastaError
from core import ConfigError, ModelFileError

from .config import ConfigFileError
from .jobs import generate, pretrain

JOBS = {
    "pretrain": (pretrain, "train a Mamba language model on DNA (YAML config + key=value overrides)"),
    "generate": (generate, "sample DNA from a trained model"),
}
USER_ERRORS = (ConfigFileError, ConfigError, ModelFileError, FastaError, DNATokenizerError,
               FileNotFoundError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mambaseq", description="Selective state-space models "
                                     "(Mamba) for long DNA and raw-audio sequences.")
    sub = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    for name, (module, help_text) in JOBS.items():
        job_parser = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(job_parser)
        job_parser.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; a user error (bad config, file, checkpoint) prints one line, exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except USER_ERRORS as err:
        print(f"mambaseq {args.job}: error: {err}", file=sys.stderr)
        return 2
    return 0
