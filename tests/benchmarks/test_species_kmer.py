"""benchmarks/species_kmer.py, the k-mer yardstick of the species table: canonical k-mer
classes, frequencies against a direct count, and a split it must separate."""
import random

import numpy as np
import pytest

from benchmarks.species_kmer import canonical_index, evaluate, kmer_frequencies
from benchmarks.species_pooling import write_composition_species
from mambaseq.biomamba import DNATokenizer


@pytest.mark.parametrize("k, classes", [(1, 2), (2, 10), (3, 32), (6, 2080)])
def test_canonical_classes_pair_each_kmer_with_its_reverse_complement(k, classes):
    index = canonical_index(k)
    assert index.max() + 1 == classes
    rng = random.Random(k)
    for _ in range(20):
        kmer = "".join(rng.choice("ACGT") for _ in range(k))
        rc = "".join({"A": "T", "C": "G", "G": "C", "T": "A"}[b] for b in reversed(kmer))
        code = lambda s: int("".join(str("ACGT".index(b)) for b in s), 4)
        assert index[code(kmer)] == index[code(rc)]


def test_frequencies_match_a_direct_count_and_skip_n():
    text = "ACGTNACGGT"
    ids = DNATokenizer().encode(text).numpy()
    padded = np.concatenate([ids, np.zeros(6, dtype=np.int64)])   # <pad> after the window
    index = canonical_index(2)
    got = kmer_frequencies(padded, len(text), 2, index)
    expected = np.zeros(index.max() + 1)
    pairs = [text[i:i + 2] for i in range(len(text) - 1) if "N" not in text[i:i + 2]]
    for pair in pairs:
        expected[index[int("".join(str("ACGT".index(b)) for b in pair), 4)]] += 1
    np.testing.assert_allclose(got, expected / len(pairs))


def test_separates_species_of_different_composition(tmp_path):
    write_composition_species(tmp_path, {"AT_rich": 0.2, "GC_rich": 0.8}, train_bases=60_000,
                              val_bases=20_000)
    row = evaluate(tmp_path, length=256, k=2, train_windows=64, seed=0)
    assert row["val_windows"] == 128 and row["chance"] == "0.5000"
    assert float(row["val_accuracy"]) > 0.95
