"""BED intervals with a split column, as in the public HG38 recipe (``hg38.ml.fa`` with
``sequences_human.bed``: chrom, start, end, split in {train, valid, test})."""
from __future__ import annotations

import bisect
from pathlib import Path

from .fasta import FastaError, open_fasta
from .windows import Region


class BedError(FastaError):
    """A BED file is missing or malformed; the message names the file and the line. A kind
    of ``FastaError`` (sequence input), so the command line reports it as a user error."""


def read_bed(path: str | Path) -> list[tuple[str, int, int, str]]:
    """(chrom, start, end, split) for every interval line of a tab-separated BED file with a
    fourth column naming the split. Blank, ``#``, ``track`` and ``browser`` lines are skipped;
    coordinates are 0-based, end exclusive, 0 <= start < end."""
    path = Path(path)
    if not path.is_file():
        raise BedError(f"{path}: no such BED file")
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 4:
                raise BedError(f"{path}:{number}: expected 4 tab-separated columns (chrom, start, "
                               f"end, split), got {len(fields)}")
            chrom, start, end, split = fields[:4]
            try:
                start_i, end_i = int(start), int(end)
            except ValueError:
                raise BedError(f"{path}:{number}: start and end must be integers, got "
                               f"{start!r}, {end!r}") from None
            if not 0 <= start_i < end_i:
                raise BedError(f"{path}:{number}: need 0 <= start < end, got {start_i}, {end_i}")
            rows.append((chrom, start_i, end_i, split))
    if not rows:
        raise BedError(f"{path}: no intervals")
    return rows


def _merge(rows: list[tuple[str, int, int, str]], source: str) -> list[Region]:
    """Sorted regions with overlapping or touching intervals merged."""
    merged: list[Region] = []
    for chrom, start, end, _ in sorted(rows):
        last = merged[-1] if merged else None
        if last is not None and last.record == chrom and start <= last.end:
            merged[-1] = Region(chrom, last.start, max(last.end, end), source)
        else:
            merged.append(Region(chrom, start, end, source))
    return merged


def bed_regions(bed_path: str | Path, fasta_path: str | Path, split: str) -> list[Region]:
    """Regions of ``fasta_path`` that the BED file assigns to ``split``, with overlapping or
    touching intervals merged (a window may then span neighbouring intervals of the same
    split). An interval of ``split`` that overlaps another split's is an error, so a window
    never crosses a split. Intervals are checked against the FASTA's records."""
    rows = read_bed(bed_path)
    splits = sorted({row[3] for row in rows})
    if split not in splits:
        raise BedError(f"{bed_path}: no interval of split {split!r} (splits: {', '.join(splits)})")
    fasta = open_fasta(fasta_path)
    mine = _merge([r for r in rows if r[3] == split], str(fasta_path))
    for region in mine:
        if region.record not in fasta:
            raise FastaError(f"{fasta_path}: no record named {region.record!r}, which "
                             f"{bed_path} uses")
        if region.end > len(fasta[region.record]):
            raise BedError(f"{bed_path}: {split} interval(s) {region.record}:{region.start}-"
                           f"{region.end} end past the record's {len(fasta[region.record])} "
                           f"bases in {fasta_path}")
    by_record: dict[str, list[Region]] = {}
    for region in mine:
        by_record.setdefault(region.record, []).append(region)
    starts = {chrom: [r.start for r in regions] for chrom, regions in by_record.items()}
    for chrom, start, end, other in rows:
        if other == split or chrom not in by_record:
            continue
        # merged regions are disjoint and sorted: only the last one starting before `end`
        # can overlap [start, end)
        i = bisect.bisect_left(starts[chrom], end) - 1
        if i >= 0 and by_record[chrom][i].end > start:
            region = by_record[chrom][i]
            raise BedError(f"{bed_path}: {other} interval {chrom}:{start}-{end} overlaps "
                           f"{split} bases {chrom}:{region.start}-{region.end}; a window "
                           f"could cross the split")
    return mine
