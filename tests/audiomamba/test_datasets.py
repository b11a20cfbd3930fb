"""SC09 split lists and digits-only filter, clip padding, folder splits and crops."""
from pathlib import Path

import pytest
import torch

from mambaseq.audiomamba import (CLIP_SAMPLES, AudioFileError, ClipTokens, Codec, EncodedAudio,
                                 RandomCrops, SC09Clips, audio_files, sc09_split, split_files,
                                 tiled_crops)
from tests.audiomamba.synth import make_sc09

BUNDLED = Path(__file__).resolve().parents[2] / "audiomamba" / "data" / "speech_16k"


def test_sc09_split_lists_and_digits_only(tmp_path):
    root = make_sc09(tmp_path / "sc09", speakers=4)
    train, val, test = (sc09_split(root, s) for s in ("train", "validation", "test"))
    assert len(train) == 20 and len(val) == 10 and len(test) == 10
    assert all("spk00" in p.name for p, _ in val) and all("spk01" in p.name for p, _ in test)
    assert not {p for p, _ in train} & ({p for p, _ in val} | {p for p, _ in test})
    assert all(p.parent.name != "yes" for p, _ in train + val + test)     # only zero..nine
    assert sorted({label for _, label in test}) == list(range(10))
    assert all(p.parent.name == ["zero", "one", "two", "three", "four", "five", "six", "seven",
                                 "eight", "nine"][label] for p, label in train)


def test_sc09_clips_are_padded_or_cut_to_one_second(tmp_path):
    root = make_sc09(tmp_path / "sc09", speakers=5)          # train speakers: 0.9, 1.05, 1.2 s
    clips = SC09Clips(root, "train")
    lengths = set()
    for i in range(len(clips)):
        wave, label = clips[i]
        assert wave.shape == (CLIP_SAMPLES,)
        lengths.add(int((wave != 0).nonzero().max()) + 1)
    assert max(lengths) == CLIP_SAMPLES and min(lengths) < 15000     # cut, and zero-padded
    tokens = ClipTokens(clips, Codec())
    ids = tokens[0]
    assert ids.shape == (CLIP_SAMPLES + 1,) and ids[0] == 128 and ids.dtype == torch.int64


def test_sc09_errors_name_the_file(tmp_path):
    root = make_sc09(tmp_path / "sc09", speakers=2)
    (root / "testing_list.txt").unlink()
    with pytest.raises(AudioFileError, match="testing_list.txt: missing"):
        sc09_split(root, "train")
    with pytest.raises(AudioFileError, match="no such SC09 folder"):
        sc09_split(tmp_path / "nope", "train")


def test_folder_split_and_crops():
    files = audio_files(BUNDLED)
    parts = split_files(files, 0.1, 0.1)
    assert [len(parts[s]) for s in ("train", "validation", "test")] == [8, 1, 1]
    assert parts["test"] == files[-1:] and parts["validation"] == files[-2:-1]
    with pytest.raises(AudioFileError, match="cannot be split"):
        split_files(files[:2], 0.3, 0.3)
    data = EncodedAudio(parts["train"], Codec(), length=257)
    assert data.codes[0].dtype == torch.uint8 and len(data.lengths) == 8
    sampler = RandomCrops(data.lengths, 257, 50, seed=3)
    crops = list(sampler)
    assert crops == list(RandomCrops(data.lengths, 257, 50, seed=3))
    sampler.set_epoch(1)
    assert list(sampler) != crops
    assert all(0 <= s <= data.lengths[i] - 257 and data[(i, s)].shape == (257,) for i, s in crops)
    tiles = tiled_crops([1000, 300], 257)
    assert tiles == [(0, 0), (0, 257), (0, 514), (1, 0)]
    with pytest.raises(AudioFileError, match="lower data.seq_len"):
        RandomCrops([100], 257, 4, seed=0)


def test_joined_files_are_one_stream_and_hold_longer_crops():
    files = audio_files(BUNDLED)[:3]
    apart = EncodedAudio(files, Codec(), length=257)
    joined = EncodedAudio(files, Codec(), length=257, join=True)
    assert joined.lengths == [sum(apart.lengths)]
    assert torch.equal(joined.codes[0], torch.cat(apart.codes))
    longest = max(apart.lengths)
    with pytest.raises(AudioFileError, match="join_files"):
        RandomCrops(apart.lengths, longest + 1, 4, seed=0)
    crops = list(RandomCrops(joined.lengths, longest + 1, 20, seed=0))
    assert all(i == 0 and 0 <= s <= joined.lengths[0] - longest - 1 for i, s in crops)
    cut = apart.lengths[0]                       # a crop across the first cut reads both files
    spanning = joined[(0, cut - 10, 20)]
    assert torch.equal(spanning, torch.cat([apart.codes[0][-10:], apart.codes[1][:10]]).long())
