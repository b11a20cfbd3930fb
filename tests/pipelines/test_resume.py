"""Exact resume: a run killed at any step and resumed from its last checkpoint ends with
bit-identical weights and the same logged losses as a run that was never interrupted
(DNA pretraining, species finetuning, audio pretraining)."""
import csv
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from mambaseq.pipelines.cli import main
from mambaseq.pipelines.data.step_loader import (BatchShape, EpochShuffle, LengthSchedule,
                                                 StepBatches)
from mambaseq.pipelines.training.language_model import LMModule
from mambaseq.pipelines.training.resume import RNGState
from mambaseq.pipelines.training.sequence_classifier import SequenceClassifierModule
from tests.bundled import APES_DEMO as APES, REPO

PRETRAIN = REPO / "configs" / "dna" / "demo.yaml"
FINETUNE = REPO / "configs" / "dna" / "species_demo.yaml"

# 5 steps per epoch, a checkpoint every 3 steps, 8 steps: kills fall mid-epoch and between
# checkpoints, in the first epoch and in the second
PRETRAIN_ARGS = ["trainer.max_steps=8", "trainer.val_every_n_steps=4",
                 "trainer.checkpoint_every_n_steps=3", "trainer.log_every_n_steps=1",
                 "trainer.progress_bar=false", "data.seq_len=32", "data.batch_size=4",
                 "data.train_windows_per_epoch=20", "data.max_val_windows=2", "data.rc_augment=true",
                 "model.d_model=16", "model.n_layer=1", "model.d_state=4", "optim.warmup_steps=2"]
FINETUNE_ARGS = [f"data.train_dir={APES / 'train'}", f"data.val_dir={APES / 'val'}",
                 "trainer.max_steps=6", "trainer.val_every_n_steps=3",
                 "trainer.checkpoint_every_n_steps=2", "trainer.log_every_n_steps=1",
                 "trainer.progress_bar=false", "data.seq_len=32", "data.batch_size=4",
                 "data.train_windows_per_epoch=16", "data.val_windows_per_species=1",
                 "data.rc_augment=true", "model.d_model=16", "model.n_layer=1", "model.d_state=4",
                 "optim.warmup_steps=1"]


def train_losses(run: Path) -> dict[int, str]:
    """step -> train/loss as written in the run's metrics.csv (exact text)."""
    rows = csv.DictReader(open(run / "logs" / "metrics.csv"))
    losses = {}
    for row in rows:
        if row["train/loss"]:
            assert int(row["step"]) not in losses, f"step {row['step']} logged twice"
            losses[int(row["step"])] = row["train/loss"]
    return losses


def assert_same_weights(a: Path, b: Path) -> None:
    wa = torch.load(a, weights_only=True)["state_dict"]
    wb = torch.load(b, weights_only=True)["state_dict"]
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


def kill_then_resume(job, config, args, out, module_class, kill_at, monkeypatch, between=None):
    """Run the job until its training step ``kill_at`` raises (a crash between checkpoints),
    call ``between()``, then run it again, which resumes from last.ckpt. Returns the warnings
    of the resumed run."""
    train_step = module_class.training_step

    def crashing(self, batch, batch_idx):
        if self.global_step == kill_at:
            raise RuntimeError("killed")
        return train_step(self, batch, batch_idx)

    monkeypatch.setattr(module_class, "training_step", crashing)
    with pytest.raises(RuntimeError, match="killed"):
        main([job, str(config), f"trainer.output_dir={out}", *args])
    monkeypatch.setattr(module_class, "training_step", train_step)
    if between is not None:
        between()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([job, str(config), f"trainer.output_dir={out}", *args]) == 0
    return [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def whole_pretrain(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    assert main(["pretrain", str(PRETRAIN), f"trainer.output_dir={out}", *PRETRAIN_ARGS]) == 0
    return out / "dna-demo"


@pytest.mark.parametrize("kill_at", [4, 7])
def test_pretrain_killed_mid_epoch_resumes_exactly(whole_pretrain, tmp_path, monkeypatch, capsys, kill_at):
    caught = kill_then_resume("pretrain", PRETRAIN, PRETRAIN_ARGS, tmp_path, LMModule, kill_at,
                              monkeypatch)
    assert "resuming from" in capsys.readouterr().out
    assert not [w for w in caught if "not resumable" in w]
    run = tmp_path / "dna-demo"
    assert_same_weights(whole_pretrain / "model.pt", run / "model.pt")
    # the killed run's rows up to its checkpoint are kept, the rows it logged after it are
    # replaced by the resumed run's: one row per step, the same losses
    assert train_losses(run) == train_losses(whole_pretrain)
    assert sorted(train_losses(run)) == list(range(8))
    metrics = "logs/metrics.csv"                         # validation rows too, byte for byte
    assert (run / metrics).read_text() == (whole_pretrain / metrics).read_text()


def test_checkpoint_without_loader_state_resumes_at_its_step(whole_pretrain, tmp_path, monkeypatch):
    last = tmp_path / "dna-demo" / "checkpoints" / "last.ckpt"

    def forget_loader_state():                            # as written before loaders had one
        ckpt = torch.load(last, weights_only=True)
        del ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"]
        torch.save(ckpt, last)

    kill_then_resume("pretrain", PRETRAIN, PRETRAIN_ARGS, tmp_path, LMModule, 4, monkeypatch,
                     between=forget_loader_state)
    assert_same_weights(whole_pretrain / "model.pt", tmp_path / "dna-demo" / "model.pt")


def test_random_draws_in_training_continue_after_resume(tmp_path, monkeypatch):
    train_step = LMModule.training_step

    def noisy(self, batch, batch_idx):                  # like dropout: the global generator
        return train_step(self, batch, batch_idx) * (1 + torch.rand(()))

    monkeypatch.setattr(LMModule, "training_step", noisy)
    assert main(["pretrain", str(PRETRAIN), f"trainer.output_dir={tmp_path / 'whole'}", *PRETRAIN_ARGS]) == 0
    kill_then_resume("pretrain", PRETRAIN, PRETRAIN_ARGS, tmp_path / "cut", LMModule, 4, monkeypatch)
    assert_same_weights(tmp_path / "whole" / "dna-demo" / "model.pt",
                        tmp_path / "cut" / "dna-demo" / "model.pt")


def test_finetune_killed_mid_epoch_resumes_exactly(tmp_path, monkeypatch):
    assert main(["finetune", str(FINETUNE), f"trainer.output_dir={tmp_path / 'whole'}",
                 *FINETUNE_ARGS]) == 0
    kill_then_resume("finetune", FINETUNE, FINETUNE_ARGS, tmp_path / "cut", SequenceClassifierModule, 5,
                     monkeypatch)
    whole, cut = tmp_path / "whole" / "species-demo", tmp_path / "cut" / "species-demo"
    assert_same_weights(whole / "model.pt", cut / "model.pt")
    assert train_losses(cut) == train_losses(whole) and len(train_losses(cut)) == 6


def test_rng_state_restored_before_the_next_step(tmp_path):
    callback = RNGState()
    torch.rand(3), np.random.rand(3), random.random()
    path = tmp_path / "state.pt"
    torch.save(callback.state_dict(), path)               # as in a checkpoint
    expected = torch.rand(4), np.random.rand(4), random.random()
    torch.rand(9), np.random.rand(9), random.random()     # what a stopped run drew after it
    callback.load_state_dict(torch.load(path, weights_only=True))
    callback.on_train_batch_start(None, None, None, 0)
    got = torch.rand(4), np.random.rand(4), random.random()
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    assert got[2] == expected[2]
    torch.rand(2)
    callback.on_train_batch_start(None, None, None, 1)    # restored once only
    assert not torch.equal(torch.rand(4), expected[0])


AUDIO = REPO / "configs" / "audio" / "demo.yaml"
AUDIO_ARGS = [f"data.root={REPO / 'audiomamba' / 'data' / 'speech_16k'}", "trainer.max_steps=6",
              "trainer.val_every_n_steps=3", "trainer.checkpoint_every_n_steps=2",
              "trainer.log_every_n_steps=1", "trainer.progress_bar=false", "data.seq_len=48",
              "data.batch_size=2", "data.train_crops_per_epoch=8", "data.max_val_crops=2",
              "model.d_model=8", "optim.warmup_steps=1"]


def test_audio_pretrain_killed_mid_epoch_resumes_exactly(tmp_path, monkeypatch):
    assert main(["pretrain", str(AUDIO), f"trainer.output_dir={tmp_path / 'whole'}", *AUDIO_ARGS]) == 0
    kill_then_resume("pretrain", AUDIO, AUDIO_ARGS, tmp_path / "cut", LMModule, 3, monkeypatch)
    whole, cut = tmp_path / "whole" / "audio-demo", tmp_path / "cut" / "audio-demo"
    assert_same_weights(whole / "model.pt", cut / "model.pt")
    assert train_losses(cut) == train_losses(whole) and len(train_losses(cut)) == 6


def test_epoch_shuffle_is_a_permutation_per_epoch_split_by_rank():
    draw = EpochShuffle(size=10, batch=4, seed=3)
    shape = BatchShape(length=8, batch=4)
    epoch0 = [draw(s, shape) for s in range(2)]
    assert len(set(sum(epoch0, []))) == 8 and draw.steps_per_epoch == 2
    assert [draw(s, shape) for s in (2, 3)] != epoch0                     # a new order per epoch
    assert EpochShuffle(10, 4, 3)(1, shape) == epoch0[1]                  # any step, no history
    ranks = [list(StepBatches(EpochShuffle(10, 4, 3), LengthSchedule(8, 4), 2, r, 2)) for r in (0, 1)]
    assert [a + b for a, b in zip(*ranks)] == epoch0


def test_packed_variable_length_run_resumes_exactly(tmp_path, monkeypatch):
    """Windows of random lengths packed into token budgets: the step's batch is still a
    function of the step, so a killed packed run ends where an uninterrupted one does."""
    args = [*PRETRAIN_ARGS, "data.min_seq_len=8", "data.max_tokens=100"]
    assert main(["pretrain", str(PRETRAIN), f"trainer.output_dir={tmp_path / 'whole'}", *args]) == 0
    kill_then_resume("pretrain", PRETRAIN, args, tmp_path / "cut", LMModule, 5, monkeypatch)
    whole, cut = tmp_path / "whole" / "dna-demo", tmp_path / "cut" / "dna-demo"
    assert_same_weights(whole / "model.pt", cut / "model.pt")
    assert train_losses(whole) == train_losses(cut)
