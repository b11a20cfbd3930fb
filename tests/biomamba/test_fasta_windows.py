"""FASTA access through pyfaidx (plain, gzip, BGZF), BED splits, and windows: splits never
crossed, padding at record ends, mostly-N windows skipped, augmentation."""
import gzip
import shutil

import pytest
import torch
from Bio import bgzf

from mambaseq.biomamba import (BedError, DNATokenizer, FastaError, FastaWindows, NFilter,
                               RandomWindows, Region, Window, WindowReader, bed_regions, open_fasta,
                               sliding_windows, split_records, tiled_windows)
from mambaseq.biomamba.fasta import compression
from tests.bundled import DNA_FASTA as BUNDLED


@pytest.fixture
def two_records(tmp_path):
    path = tmp_path / "two.fa"
    path.write_text(">one\nACGTACGTAC\nGTACGTAC\n>two desc\nTTTTGGGGCC\nNNAA\n")
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMBASEQ_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_gzip_and_bgzf_read_the_same_bases_as_plain(tmp_path, cache):
    plain = tmp_path / "slice.fa"
    shutil.copy(BUNDLED, plain)
    with open(plain, "rb") as src, gzip.open(tmp_path / "slice.fa.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    with open(plain, "rb") as src, bgzf.BgzfWriter(tmp_path / "slice.bgzf.fa.gz", "wb") as dst:
        dst.write(src.read())                       # 64 kB blocks: about four of them
    assert compression(tmp_path / "slice.fa.gz") == "gzip"
    assert compression(tmp_path / "slice.bgzf.fa.gz") == "bgzf"
    assert compression(plain) == "none"
    a = open_fasta(plain)
    name = next(iter(a.keys()))
    assert len(a[name]) == 200_000
    for other in (open_fasta(tmp_path / "slice.fa.gz"), open_fasta(tmp_path / "slice.bgzf.fa.gz")):
        assert len(other[name]) == 200_000
        for start, end in [(0, 100), (65_000, 67_000), (123_456, 190_000), (199_990, 200_000)]:
            assert other[name][start:end] == a[name][start:end]
    # gzip was decompressed into the cache once; BGZF is read in place (.gzi beside it)
    assert [p.suffix for p in cache.iterdir() if p.suffix == ".fa"] == [".fa"]
    assert (tmp_path / "slice.bgzf.fa.gz.gzi").is_file()


def test_malformed_fasta_names_the_file(tmp_path, cache):
    bad = tmp_path / "bad.fa"
    bad.write_text(">r\nACGTACGT\nACG\nACGTACGT\n")        # a short line in the middle
    with pytest.raises(FastaError, match="bad.fa: malformed FASTA"):
        open_fasta(bad)
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(FastaError, match="empty.fa: empty file"):
        open_fasta(tmp_path / "empty.fa")
    with gzip.open(tmp_path / "empty.fa.gz", "wb"):
        pass
    with pytest.raises(FastaError, match="empty.fa.gz: not FASTA \\(empty after decompression"):
        open_fasta(tmp_path / "empty.fa.gz")
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
    starts = set()
    for w in sampler:
        region = next(r for r in train if r.record == w.record)
        assert region.start <= w.start and w.stop <= region.end and w.stop - w.start == 5
        starts.add((w.record, w.start))
    assert len(starts) == 10 + 6                    # every start of every region is drawn
    assert [tuple(w)[1:4] for w in tiled_windows(val, 4)] == [("one", 14, 18), ("two", 10, 14)]


def test_records_split_by_name(two_records):
    train, val = split_records(two_records, None, 0.1, val_records=["two"])
    assert [(r.record, r.start, r.end) for r in train] == [("one", 0, 18)]
    assert [(r.record, r.start, r.end) for r in val] == [("two", 0, 14)]
    with pytest.raises(FastaError, match="no record named 'three'"):
        split_records(two_records, None, 0.1, val_records=["three"])


def test_bed_splits_are_merged_and_never_crossed(tmp_path, two_records):
    bed = tmp_path / "seqs.bed"
    bed.write_text("# comment\none\t0\t6\ttrain\none\t5\t9\ttrain\none\t10\t18\tvalid\n"
                   "two\t0\t14\ttest\n")
    train = bed_regions(bed, two_records, "train")
    valid = bed_regions(bed, two_records, "valid")
    assert [(r.record, r.start, r.end) for r in train] == [("one", 0, 9)]
    assert [(r.record, r.start, r.end) for r in valid] == [("one", 10, 18)]
    for w in RandomWindows(train, 4, 200, seed=0):
        assert 0 <= w.start and w.stop <= 9         # never into the valid interval at 10
    bed.write_text("one\t0\t8\ttrain\none\t6\t12\tvalid\n")
    with pytest.raises(BedError, match="valid interval one:6-12 overlaps train bases one:0-8"):
        bed_regions(bed, two_records, "train")
    bed.write_text("one\t0\t30\ttrain\n")
    with pytest.raises(BedError, match="ends? past the record's 18 bases"):
        bed_regions(bed, two_records, "train")
    bed.write_text("one\t0\tx\ttrain\n")
    with pytest.raises(BedError, match="seqs.bed:1: start and end must be integers"):
        bed_regions(bed, two_records, "train")
    bed.write_text("one\t0\t5\n")
    with pytest.raises(BedError, match="seqs.bed:1: expected 4 tab-separated columns"):
        bed_regions(bed, two_records, "train")


def test_windows_near_record_ends_are_padded(two_records):
    tok = DNATokenizer()
    windows = sliding_windows(str(two_records), "two", 14, length=6, stride=6)
    assert [(w.start, w.stop) for w in windows] == [(0, 6), (6, 12), (12, 14)]
    reader = WindowReader(6, tok)
    ids, valid = reader.read(windows[-1])
    assert valid == 2 and tok.decode(ids[:2]) == "AA" and ids[2:].tolist() == [tok.pad_id] * 4
    # a region shorter than the window gives one padded window
    short = [Region("two", 10, 14, str(two_records))]
    assert {tuple(w) for w in RandomWindows(short, 8, 5, seed=0)} == {(str(two_records), "two", 10, 14, False)}
    # reverse complement keeps the padding on the right
    ids, valid = reader.read(Window(str(two_records), "two", 6, 10, rc=True))
    assert tok.decode(ids[:valid]) == "GGCC"[::-1].translate(str.maketrans("ACGT", "TGCA"))
    assert ids[valid:].tolist() == [tok.pad_id] * 2


def test_mostly_n_windows_are_skipped(tmp_path):
    path = tmp_path / "gappy.fa"
    path.write_text(">chr\n" + "N" * 40 + "ACGT" * 10 + "\n")
    regions = [Region("chr", 0, 80, str(path))]
    keep = NFilter(0.5)
    for w in RandomWindows(regions, 10, 300, seed=0, keep=keep):
        assert w.start >= 35                        # at most 5 of its 10 bases are N
    assert [w.start for w in tiled_windows(regions, 10, keep=keep)] == [40, 50, 60, 70]
    everything = {w.start for w in RandomWindows(regions, 10, 300, seed=0)}
    assert min(everything) < 35                     # without the filter they are drawn
    with pytest.raises(ValueError, match="rejected as mostly N"):
        list(RandomWindows([Region("chr", 0, 40, str(path))], 10, 3, seed=0, keep=keep))


def test_step_batches_depend_on_seed_and_step_only(tmp_path):
    path = tmp_path / "gappy.fa"
    path.write_text(">chr\n" + "N" * 40 + "ACGT" * 40 + "\n")
    regions = [Region("chr", 0, 200, str(path))]
    sampler = RandomWindows(regions, 10, 4, seed=5, keep=NFilter(0.5))
    steps = [sampler.batch(s, 6) for s in range(4)]
    assert all(len(b) == 6 and all(w.start >= 35 for w in b) for b in steps)
    assert RandomWindows(regions, 10, 4, seed=5, keep=NFilter(0.5)).batch(3, 6) == steps[3]
    assert len({tuple(b) for b in steps}) == 4                       # every step differs
    assert RandomWindows(regions, 10, 4, seed=6).batch(3, 6) != steps[3]


def test_random_windows_are_seeded_and_balanced(two_records):
    train, _ = split_records(two_records, None, 0.25)
    sampler = RandomWindows(train, 5, 50, seed=1)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    # "one" holds 10 starts and "two" 6: ungrouped draws follow that, grouped draws are even
    counts = lambda s: sum(w.record == "one" for w in s) / len(s)
    assert abs(counts(RandomWindows(train, 5, 4000, seed=0)) - 10 / 16) < 0.03
    assert abs(counts(RandomWindows(train, 5, 4000, seed=0, groups=[0, 1])) - 0.5) < 0.03


def test_rc_augmentation_reads_the_reverse_complement(two_records):
    train, _ = split_records(two_records, None, 0.25)
    tok = DNATokenizer()
    windows = list(RandomWindows(train, 5, 400, seed=0, rc_prob=0.5))
    flipped = [w for w in windows if w.rc]
    assert 150 < len(flipped) < 250
    ds = FastaWindows(5, tok)
    w = flipped[0]
    assert torch.equal(ds[w], tok.reverse_complement(ds[w._replace(rc=False)]))


def test_dataset_reads_token_ids(two_records):
    ds = FastaWindows(6, DNATokenizer())
    assert DNATokenizer().decode(ds[Window(str(two_records), "two", 8, 14)]) == "CCNNAA"


def test_unknown_record_is_named(two_records):
    with pytest.raises(FastaError, match="no record named 'three'"):
        split_records(two_records, ["three"], 0.1)
