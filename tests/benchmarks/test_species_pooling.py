"""benchmarks/species_pooling.py, the pooling diagnostic of the species table: the synthetic
species it writes, and the best accuracy a GC count allows."""
from pathlib import Path

import pytest

from benchmarks.species_pooling import threshold_accuracy, write_composition_species


def test_species_hold_the_asked_gc_fraction(tmp_path: Path) -> None:
    write_composition_species(tmp_path, {"low": 0.3, "high": 0.6}, train_bases=50_000,
                              val_bases=5_000)
    for split, n in (("train", 50_000), ("val", 5_000)):
        for name, gc in (("low", 0.3), ("high", 0.6)):
            header, seq = (tmp_path / split / f"{name}.fa").read_text().split("\n")[:2]
            assert header == f">{name}" and len(seq) == n and set(seq) == set("ACGT")
            assert abs((seq.count("G") + seq.count("C")) / n - gc) < 4 * (gc * (1 - gc) / n) ** 0.5
            assert abs(seq.count("G") - seq.count("C")) < 4 * (n * gc) ** 0.5


@pytest.mark.parametrize("low, high, length, expected", [
    (0.3, 0.7, 1, 0.7),          # one base: guess "high" on G or C, right 70% of the time
    (0.5, 0.5, 200, 0.5),        # the same composition: nothing to read
    (0.2, 0.8, 400, 1.0),        # far apart and long: certain
])
def test_threshold_accuracy(low: float, high: float, length: int, expected: float) -> None:
    assert threshold_accuracy(low, high, length) == pytest.approx(expected, abs=1e-9)


def test_threshold_accuracy_grows_with_the_window() -> None:
    accuracies = [threshold_accuracy(0.40, 0.44, n) for n in (256, 1024, 4096)]
    assert accuracies == sorted(accuracies) and 0.89 < accuracies[1] < 0.91
