"""Species classification data: a folder per split holding one FASTA file per species, the
file name (without its FASTA/compression suffixes) being the label, e.g. ``train/Hsap.fa.gz``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .fasta import FastaError, open_fasta
from .windows import Region, split_records

FASTA_SUFFIXES = (".fa", ".fasta", ".fna")
COMPRESSION_SUFFIXES = (".gz", ".bgz")


def species_label(path: Path) -> str | None:
    """``Hsap.fa.gz`` -> ``Hsap``; None when the name does not end in a FASTA suffix
    (optionally followed by .gz/.bgz)."""
    name = path.name
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    for suffix in FASTA_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return None


def species_files(folder: str | Path) -> dict[str, Path]:
    """{label: FASTA path} of a species folder, sorted by label. Every file is opened (and
    indexed), so a malformed FASTA is a ``FastaError`` naming that file; an empty folder or
    two files with one label are errors naming the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FastaError(f"{folder}: no such species folder (expected one FASTA per species)")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        label = species_label(path)
        if label is None or not path.is_file():
            continue
        if label in files:
            raise FastaError(f"{folder}: two files for species {label!r}: {files[label].name}, "
                             f"{path.name}")
        files[label] = path
    if len(files) < 2:
        raise FastaError(f"{folder}: found {len(files)} species FASTA file(s) (*.fa, *.fasta, "
                         f"*.fna, optionally .gz/.bgz); classification needs at least 2")
    for path in files.values():
        open_fasta(path)
    return files


def whole_records(path: Path) -> list[Region]:
    """Every record of a FASTA file as one region."""
    fasta = open_fasta(path)
    return [Region(name, 0, len(fasta[name]), str(path)) for name in fasta.keys()]


@dataclass
class SpeciesSplit:
    """Train and validation regions of a species data set. ``classes``: labels, sorted (the
    class index is the position); ``*_groups``: the class index of each region."""

    classes: list[str]
    train: list[Region]
    train_groups: list[int]
    val: list[Region]
    val_groups: list[int]

    def sources(self) -> dict[str, int]:
        """{FASTA path: class index} for every file of both splits."""
        return {r.source: g for r, g in zip(self.train + self.val, self.train_groups + self.val_groups)}


def load_species_split(train_dir: str | Path, val_dir: str | Path | None,
                       val_fraction: float) -> SpeciesSplit:
    """Species regions from a train folder and a validation folder with the same species;
    without ``val_dir``, the last ``val_fraction`` of every training record is held out
    for validation instead (no training window overlaps it)."""
    train_files = species_files(train_dir)
    classes = list(train_files)
    train, train_groups, val, val_groups = [], [], [], []
    if val_dir is not None:
        val_files = species_files(val_dir)
        if set(val_files) != set(train_files):
            raise FastaError(f"{val_dir}: species {sorted(val_files)} differ from those of "
                             f"{train_dir}: {classes}")
        for k, label in enumerate(classes):
            for region in whole_records(train_files[label]):
                train.append(region)
                train_groups.append(k)
            for region in whole_records(val_files[label]):
                val.append(region)
                val_groups.append(k)
    else:
        for k, label in enumerate(classes):
            head, tail = split_records(train_files[label], None, val_fraction)
            train += head
            val += tail
            train_groups += [k] * len(head)
            val_groups += [k] * len(tail)
    return SpeciesSplit(classes, train, train_groups, val, val_groups)
