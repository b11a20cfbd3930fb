"""Random access to FASTA files through pyfaidx, with clear errors that name the file."""
from __future__ import annotations

import gzip
import os
import shutil
import sys
from pathlib import Path

import pyfaidx


class FastaError(ValueError):
    """A FASTA file is missing, unreadable or malformed; the message names the file."""


def default_cache_dir() -> Path:
    """Where decompressed FASTA files and indexes go when they cannot sit beside the input:
    $MAMBASEQ_CACHE, else ~/.cache/mambaseq."""
    return Path(os.environ.get("MAMBASEQ_CACHE", Path.home() / ".cache" / "mambaseq"))


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _decompressed_copy(path: Path, cache_dir: Path) -> Path:
    """Ordinary (non-BGZF) gzip cannot be indexed: decompress it once into the cache."""
    stat = path.stat()
    target = cache_dir / f"{path.name.removesuffix('.gz')}.{stat.st_size}-{int(stat.st_mtime)}.fa"
    if not target.exists():
        print(f"[mambaseq] {path}: gzip FASTA, decompressing once into {target}", file=sys.stderr)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        try:
            with gzip.open(path, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 22)
        except (OSError, EOFError) as err:
            partial.unlink(missing_ok=True)
            raise FastaError(f"{path}: cannot decompress ({err})") from err
        partial.rename(target)
    return target


def open_fasta(path: str | Path, cache_dir: str | Path | None = None) -> pyfaidx.Fasta:
    """Open a plain or gzip-compressed FASTA for random access (``fasta[name][start:end]``).

    The ``.fai`` index is built beside the file when its folder is writable, else in the
    cache folder. Raises ``FastaError`` naming the file for a missing, empty or malformed
    FASTA (pyfaidx's own complaint, such as unequal line lengths, is included).
    """
    path = Path(path)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not path.is_file():
        raise FastaError(f"{path}: no such FASTA file")
    if path.stat().st_size == 0:
        raise FastaError(f"{path}: empty file, expected FASTA")
    source = _decompressed_copy(path, cache) if _is_gzip(path) else path
    with open(source, "rb") as f:
        if not f.read(1) == b">":
            raise FastaError(f"{path}: not FASTA (the first character must be '>')")
    index = None
    if not os.access(source.parent, os.W_OK) and not Path(f"{source}.fai").exists():
        index = str(cache / f"{source.name}.{source.stat().st_size}.fai")
        cache.mkdir(parents=True, exist_ok=True)
    try:
        return pyfaidx.Fasta(str(source), indexname=index, sequence_always_upper=True,
                             as_raw=True, rebuild=True)
    except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as err:
        raise FastaError(f"{path}: malformed FASTA: {err}") from err
