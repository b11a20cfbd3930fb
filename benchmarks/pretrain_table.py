"""The table of a few `mambaseq pretrain` runs, read from their logs (what a pair of runs at
two contexts is compared by): crop length, batch, steps, tokens/s (the median of the progress
lines after the first, which includes compilation), peak GPU memory, validation bits per
token (sample or base).

    python -m benchmarks.pretrain_table OUT NAME [NAME ...]

reads OUT/NAME.log for every NAME, writes OUT/<stem>.csv and OUT/<stem>.md (stem: --stem,
default "pretrain") and prints the markdown table.
"""
from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path

from mambaseq.pipelines.evaluation.reports import markdown_table, write_csv


def row_of(log: Path) -> dict:
    """One table row from a pretrain log; empty cells for what the log lacks."""
    text = log.read_text()
    rates = [float(r.replace(",", ""))
             for r in re.findall(r"step \d+/\d+.*?([\d,]+) tokens/s", text)]
    shape = re.search(r"(\d+) steps of (\d+) x (\d+) (\w+?)s\b", text)
    bits = re.search(r"validation: ([\d.]+) bits per (\w+)", text)
    peak = re.search(r"peak GPU memory: ([\d.]+) GiB", text)
    return {"run": log.stem, "length": shape[3] if shape else "", "batch": shape[2] if shape else "",
            "steps": shape[1] if shape else "",
            "tokens_per_s": round(statistics.median(rates[1:] or rates)) if rates else "",
            "peak_gib": peak[1] if peak else "",
            "val_bits_per_token": bits[1] if bits else "", "unit": bits[2] if bits else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("names", nargs="+")
    parser.add_argument("--stem", default="pretrain")
    args = parser.parse_args()
    rows = [row_of(args.out / f"{name}.log") for name in args.names]
    write_csv(args.out / f"{args.stem}.csv", rows)
    table = markdown_table(rows) + "\n"
    (args.out / f"{args.stem}.md").write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
