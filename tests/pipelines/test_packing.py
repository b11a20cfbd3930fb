"""Variable-length training batches: random window lengths, token budgets, packed batches that
give the loss of the same sequences padded, and the pretrain/finetune jobs running on them."""
import os
import subprocess
import sys

import pytest
import torch

from mambaseq.biomamba import RandomWindows, Region, Window
from mambaseq.pipelines.cli import main
from mambaseq.pipelines.data.variable_length import (IGNORE_INDEX, VariableLengthDraw,
                                                     classification_batch, cut_to_random_length,
                                                     cut_window, lm_batch, window_length,
                                                     within_budget)
from mambaseq.pipelines.training.language_model import LMModule
from mambaseq.pipelines.training.sequence_classifier import SequenceClassifierModule
from tests.bundled import DNA_FASTA as BUNDLED, REPO

TINY = dict(d_model=16, n_layer=1, vocab_size=10, d_state=4)
OPTIM = dict(lr=1e-3, weight_decay=0.0, betas=[0.9, 0.95], warmup_steps=1, min_lr_ratio=0.1,
             grad_clip=1.0)


def test_random_lengths_are_in_range_and_fixed_by_the_window():
    windows = RandomWindows([Region("chr", 0, 10_000, "x.fa")], 500, 200, seed=1).batch(0, 200)
    cut = [cut_to_random_length(w, 100, 5, window_length, cut_window) for w in windows]
    lengths = [window_length(w) for w in cut]
    assert min(lengths) >= 100 and max(lengths) <= 500 and len(set(lengths)) > 50
    assert cut == [cut_to_random_length(w, 100, 5, window_length, cut_window) for w in windows]
    assert all(a.start == b.start for a, b in zip(cut, windows))     # starts untouched
    short = Window("x.fa", "chr", 0, 60)
    assert cut_to_random_length(short, 100, 5, window_length, cut_window) == short


@pytest.mark.parametrize("packed", [True, False])
def test_budget_prefix_and_step_draws(packed):
    lengths = torch.randint(1, 50, (300,), generator=torch.Generator().manual_seed(0)).tolist()
    kept = within_budget(lengths, int, 120, packed)
    assert kept == lengths[:len(kept)] and kept
    cost = lambda b: sum(b) if packed else len(b) * max(b)  # noqa: E731
    assert cost(kept) <= 120 < cost(lengths[:len(kept) + 1])
    with pytest.raises(ValueError, match="exceeds the batch budget"):
        within_budget([130], int, 120, packed)
    # a step's batch: a function of the step alone, within the budget, lengths in range
    base = RandomWindows([Region("chr", 0, 10_000, "x.fa")], 65, 1, seed=1)
    draw = VariableLengthDraw(base.batch, 65, 9, 400, packed, 0, window_length, cut_window)
    for step in range(20):
        batch = draw(step)
        assert batch == draw(step) and batch
        assert cost([window_length(w) for w in batch]) <= 400
        assert all(9 <= window_length(w) <= 65 for w in batch)
    assert draw(1) != draw(2)


def test_lm_batch_layouts():
    seqs = [torch.tensor([5, 6, 7]), torch.tensor([8, 9])]
    packed = lm_batch(seqs, packed=True, pad_id=0)
    assert packed["inputs"].tolist() == [[5, 6, 8]] and packed["targets"].tolist() == [[6, 7, 9]]
    assert packed["cu_seqlens"].tolist() == [0, 2, 3]
    padded = lm_batch(seqs, packed=False, pad_id=0)
    assert padded["inputs"].tolist() == [[5, 6], [8, 0]]
    assert padded["targets"].tolist() == [[6, 7], [9, IGNORE_INDEX]]


def test_packed_and_padded_batches_give_the_same_loss_and_gradients():
    module = LMModule(TINY, OPTIM, max_steps=10)
    seqs = [torch.randint(5, 10, (n,)) for n in (3, 17, 2, 9)]
    losses, grads = [], []
    for packed in (True, False):
        module.zero_grad()
        loss = module._loss(lm_batch(seqs, packed, pad_id=0))
        loss.backward()
        losses.append(loss.detach())
        grads.append([p.grad.clone() for p in module.parameters()])
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-5, atol=1e-6)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_packed_classification_batch_gives_the_padded_logits():
    module = SequenceClassifierModule("MambaClassifier", TINY, {"num_classes": 3, "pooling": "mean"},
                              OPTIM, max_steps=10, classes=["a", "b", "c"]).eval()
    items = [(torch.randint(5, 10, (12,)), n, n % 3) for n in (12, 4, 1, 7)]
    with torch.no_grad():
        packed_logits, packed_labels = module._logits(classification_batch(items, packed=True))
        padded_logits, padded_labels = module._logits(classification_batch(items, packed=False))
    torch.testing.assert_close(packed_logits, padded_logits, rtol=1e-5, atol=1e-5)
    assert torch.equal(packed_labels, padded_labels)


@pytest.mark.parametrize("pack", ["true", "false"])
def test_pretrain_and_finetune_on_variable_length_windows(tmp_path, pack):
    common = [f"trainer.output_dir={tmp_path}", "trainer.max_steps=3", "trainer.progress_bar=false",
              "trainer.val_every_n_steps=3", "trainer.checkpoint_every_n_steps=3",
              "model.d_model=16", "model.n_layer=1", "data.seq_len=64", "data.min_seq_len=8",
              f"data.pack={pack}", "data.max_tokens=200", "optim.warmup_steps=1"]
    assert main(["pretrain", str(REPO / "configs/dna/demo.yaml"), f"data.fasta={BUNDLED}",
                 "data.max_val_windows=2", *common]) == 0
    assert main(["finetune", str(REPO / "configs/dna/species_demo.yaml"),
                 f"data.train_dir={REPO}/biomamba/data/great_apes_demo/train",
                 f"data.val_dir={REPO}/biomamba/data/great_apes_demo/val",
                 "data.val_windows_per_species=2", *common]) == 0


def test_bad_variable_length_settings_name_the_key(tmp_path, capsys):
    config = str(REPO / "configs/dna/demo.yaml")
    assert main(["pretrain", config, "data.min_seq_len=500", f"trainer.output_dir={tmp_path}"]) == 2
    assert "data.min_seq_len must be in [1, data.seq_len=256]" in capsys.readouterr().err
    assert main(["pretrain", config, "data.min_seq_len=10", "data.max_tokens=100",
                 f"trainer.output_dir={tmp_path}"]) == 2
    assert "data.max_tokens must hold one window" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["backbone.kind=mamba", "data.pack=true"],
                                   ["backbone.kind=sashimi", "data.pack=false"]])
def test_audio_pretrain_on_variable_length_crops(tmp_path, extra):
    args = [f"data.root={REPO / 'audiomamba' / 'data' / 'speech_16k'}", f"trainer.output_dir={tmp_path}",
            "trainer.max_steps=2", "trainer.val_every_n_steps=2", "trainer.checkpoint_every_n_steps=2",
            "trainer.progress_bar=false", "data.seq_len=48", "data.min_seq_len=16",
            "data.max_tokens=120", "data.max_val_crops=2", "model.d_model=8",
            "optim.warmup_steps=1", *extra]
    assert main(["pretrain", str(REPO / "configs/audio/demo.yaml"), *args]) == 0


def test_audio_packing_refuses_the_unet(tmp_path, capsys):
    assert main(["pretrain", str(REPO / "configs/audio/demo.yaml"), "data.min_seq_len=16",
                 f"trainer.output_dir={tmp_path}"]) == 2
    assert "packed sequences need backbone.kind: mamba" in capsys.readouterr().err


def test_cut_audio_crops_read_their_length():
    from mambaseq.pipelines.data.variable_length import crop_length, cut_crop
    assert crop_length((3, 100), full=49) == 49 and crop_length(cut_crop((3, 100), 20), 49) == 20


def test_packing_benchmark_runs(tmp_path):
    """benchmarks/packing.py --smoke runs and writes its CSV (no timing is checked)."""
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "packing.py"), "--smoke",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = (tmp_path / "packing.csv").read_text().splitlines()
    assert rows[0].startswith("mode,tokens_per_s") and [r.split(",")[0] for r in rows[1:]] == ["packed", "padded"]
