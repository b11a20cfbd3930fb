"""FASTA access through pyfaidx and language-model windows."""
import gzip
import shutil
from pathlib import Path

import pytest

from biomamba import (DNATokenizer, FastaError, FastaWindows, RandomWindows, open_fasta,
                      split_records, tiled_windows)

BUNDLED = Path(__file__).resolve().parents[2] / "biomamba" / "data" / "hsap_chr22_200kb.fa"


@pytest.fixture
def two_records(tmp_path):
    path = tmp_path / "two.fa"
    path.write_text(">one\nACGTACGTAC\nGTACGTAC\n>two desc\nTTTTGGGGCC\nNNAA\n")
    return path


def test_gzip_reads_the_same_bases_as_plain(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMBASEQ_CACHE", str(tmp_path / "cache"))
    plain = tmp_path / "slice.fa"
    shutil.copy(BUNDLED, plain)
    with open(plain, "rb") as src, gzip.open(tmp_path / "slice.fa.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    a, b = open_fasta(plain), open_fasta(tmp_path / "slice.fa.gz")
    name = next(iter(a.keys()))
    assert len(a[name]) == 200_000
    assert a[name][123_456:124_000] == b[name][123_456:124_000]


def test_malformed_fasta_names_the_file(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">r\nACGTACGT\nACG\nACGTACGT\n")        # a short line in the middle
    with pytest.raises(FastaError, match="bad.fa: malformed FASTA"):
        open_fasta(bad)
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(FastaError, match="empty.fa: empty file"):
        open_fasta(tmp_path / "empty.fa")
    (tmp_path / "text.fa").write_text("hello\n")
    with pytest.raises(FastaError, match="text.fa: not FASTA"):
        open_fasta(tmp_path / "text.fa")
    with pytest.raises(FastaError, match="no such FASTA"):
        open_fasta(tmp_path / "nope.fa")


def test_windows_never_cross_the_split(two_records):
    train, val = split_records(two_records, None, val_fraction=0.25)
    assert [(r.record, r.start, r.end) for r in train] == [("one", 0, 14), ("two", 0, 10)]
    assert [(r.record, r.start, r.end) for r in val] == [("one", 14, 18), ("two", 10, 14)]
    sampler = RandomWindows(train, length=5, num_samples=500, seed=3)
    for record, start in sampler:
        region = next(r for r in train if r.record == record)
        assert region.start <= start and start + 5 <= region.end
    assert tiled_windows(val, 4) == [("one", 14), ("two", 10)]


def test_random_windows_are_seeded_per_epoch(two_records):
    train, _ = split_records(two_records, None, 0.25)
    sampler = RandomWindows(train, 5, 50, seed=1)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_dataset_reads_token_ids(two_records):
    ds = FastaWindows(two_records, 6, DNATokenizer())
    assert DNATokenizer().decode(ds[("two", 8)]) == "CCNNAA"


def test_unknown_record_is_named(two_records):
    with pytest.raises(FastaError, match="no record named 'three'"):
        split_records(two_records, ["three"], 0.1)
