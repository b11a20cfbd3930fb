"""Random access to FASTA files through pyfaidx, with clear errors that name the file.

Plain FASTA and BGZF (``bgzip``) are read in place; an ordinary gzip FASTA is decompressed
once into the cache folder, because pyfaidx can only seek inside BGZF blocks.
"""
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


def compression(path: Path) -> str:
    """"bgzf", "gzip" or "none", from the first bytes of the file.

    BGZF is gzip whose header carries an extra field with the subfield id "BC" (SAM/BAM
    specification, section 4.1): bytes 0-1 = 1f 8b, byte 3 has FEXTRA (4), bytes 12-13 = "BC".
    """
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:2] != b"\x1f\x8b":
        return "none"
    return "bgzf" if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC" else "gzip"


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


def _first_byte(source: Path, bgzf: bool) -> bytes:
    opener = gzip.open if bgzf else open
    with opener(source, "rb") as f:
        return f.read(1)


def open_fasta(path: str | Path, cache_dir: str | Path | None = None) -> pyfaidx.Fasta:
    """Open a plain, BGZF or gzip-compressed FASTA for random access (``fasta[name][start:end]``
    returns upper-case text).

    BGZF files (named ``*.gz`` or ``*.bgz``) are read in place through pyfaidx, which needs
    Biopython's BGZF reader; other gzip files are decompressed once into the cache. The ``.fai``
    (and BGZF ``.gzi``) index is built beside the file when its folder is writable, else in
    the cache folder. Raises ``FastaError`` naming the file for a missing, empty or malformed
    FASTA (pyfaidx's own complaint, such as unequal line lengths, is included).
    """
    path = Path(path)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not path.is_file():
        raise FastaError(f"{path}: no such FASTA file")
    if path.stat().st_size == 0:
        raise FastaError(f"{path}: empty file, expected FASTA")
    kind = compression(path)
    bgzf = kind == "bgzf" and path.suffix.lower() in (".gz", ".bgz")
    source = _decompressed_copy(path, cache) if kind != "none" and not bgzf else path
    first = _first_byte(source, bgzf)
    if first != b">":
        what = "empty after decompression" if not first else "the first character must be '>'"
        raise FastaError(f"{path}: not FASTA ({what})")
    index = gzi = None
    if not os.access(source.parent, os.W_OK) and not Path(f"{source}.fai").exists():
        stem = cache / f"{source.name}.{source.stat().st_size}"
        index, gzi = f"{stem}.fai", f"{stem}.gzi"
        cache.mkdir(parents=True, exist_ok=True)
    try:
        return pyfaidx.Fasta(str(source), indexname=index, sequence_always_upper=True,
                             as_raw=True, rebuild=True,
                             **({"gzi_indexname": gzi} if bgzf and gzi else {}))
    except ImportError as err:
        raise FastaError(f"{path}: reading BGZF needs Biopython >= 1.73 "
                         f"(pip install biopython): {err}") from err
    except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as err:
        raise FastaError(f"{path}: malformed FASTA: {err}") from err


class FastaCache:
    """FASTA files opened on first use and kept open, one per path; pickles empty, so every
    DataLoader worker opens its own handles."""

    def __init__(self) -> None:
        self._open: dict[str, pyfaidx.Fasta] = {}

    def __getitem__(self, path: str) -> pyfaidx.Fasta:
        if path not in self._open:
            self._open[path] = open_fasta(path)
        return self._open[path]

    def __getstate__(self) -> dict:
        return {"_open": {}}
