"""Species folders: labels from file names, malformed files named, balanced windows."""
import gzip
from pathlib import Path

import pytest

from mambaseq.biomamba import (DNATokenizer, FastaError, LabelledWindows, RandomWindows,
                               load_species_split, species_files, species_label)
from tests.bundled import APES_DEMO as DEMO


def make_folder(root: Path, bases: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for label, seq in bases.items():
        (root / f"{label}.fa").write_text(f">{label}_chr\n{seq}\n")
    return root


def test_labels_come_from_file_names():
    assert species_label(Path("Hsap.fa.gz")) == "Hsap"
    assert species_label(Path("Ptro.fasta")) == "Ptro"
    assert species_label(Path("x.bgz")) is None and species_label(Path("README.md")) is None
    files = species_files(DEMO / "train")
    assert list(files) == ["Ggor", "Hsap", "Ppyg", "Ptro"]


def test_malformed_fasta_in_species_folder_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMBASEQ_CACHE", str(tmp_path / "cache"))
    folder = make_folder(tmp_path / "train", {"Aaa": "ACGT" * 10, "Bbb": "TTGG" * 10})
    (folder / "Ccc.fa").write_text(">c\nACGTACGT\nAC\nACGTACGT\n")
    with pytest.raises(FastaError, match=r"train/Ccc\.fa: malformed FASTA"):
        species_files(folder)
    (folder / "Ccc.fa").unlink()
    with gzip.open(folder / "Ccc.fa.gz", "wb"):
        pass                                        # like the shared val/Ppyg.fa.gz
    with pytest.raises(FastaError, match=r"Ccc\.fa\.gz: not FASTA \(empty after decompression"):
        species_files(folder)
    (folder / "Ccc.fa.gz").unlink()
    (folder / "Aaa.fasta").write_text(">a\nACGT\n")
    with pytest.raises(FastaError, match="two files for species 'Aaa'"):
        species_files(folder)


def test_validation_species_must_match(tmp_path):
    train = make_folder(tmp_path / "train", {"Aaa": "ACGT" * 10, "Bbb": "TTGG" * 10})
    val = make_folder(tmp_path / "val", {"Aaa": "ACGT" * 5, "Ccc": "TTGG" * 5})
    with pytest.raises(FastaError, match=r"val: species \['Aaa', 'Ccc'\] differ"):
        load_species_split(train, val, 0.1)


def test_held_out_tails_and_balanced_labelled_windows(tmp_path):
    # species of very different sizes are still drawn equally often
    train = make_folder(tmp_path / "train", {"Aaa": "A" * 1000, "Bbb": "C" * 60})
    split = load_species_split(train, None, val_fraction=0.1)
    assert split.classes == ["Aaa", "Bbb"]
    assert [(r.record, r.start, r.end) for r in split.val] == [("Aaa_chr", 900, 1000), ("Bbb_chr", 54, 60)]
    ds = LabelledWindows(20, DNATokenizer(), split.sources())
    windows = list(RandomWindows(split.train, 20, 2000, seed=0, groups=split.train_groups))
    labels = [ds[w][2] for w in windows[:200]]
    assert 70 < sum(labels) < 130
    assert all(w.stop <= 900 if w.record == "Aaa_chr" else w.stop <= 54 for w in windows)
    ids, valid, label = ds[windows[0]]
    expected = "A" if label == 0 else "C"
    assert valid == 20 and DNATokenizer().decode(ids) == expected * 20
