"""The paper's diagnostic tasks: datasets, masked metrics and the ``mambaseq synthetic`` job."""
import csv
from pathlib import Path

import pytest
import torch

from mambaseq.core import load_model
from mambaseq.pipelines.cli import main
from mambaseq.pipelines.data.synthetic_tasks import (IGNORE, TRAIN, VAL, SyntheticDataModule,
                                                     SyntheticTask)
from mambaseq.pipelines.training.synthetic_model import answer_metrics
from tests.bundled import REPO

CONFIGS = REPO / "configs" / "synthetic"


def test_selective_copying_samples_follow_the_task():
    data = SyntheticTask("selective_copying", 10, seq_len=40, vocab_size=8, seed=3, stream=TRAIN,
                         n_data=5)
    for i in range(len(data)):
        inputs, targets = data[i]
        assert inputs.shape == targets.shape == (45,) and inputs.dtype == torch.int64
        context = inputs[:40]
        data_tokens = context[context != 0]
        assert len(data_tokens) == 5 and ((data_tokens >= 1) & (data_tokens <= 6)).all()
        assert (inputs[40:] == 7).all()                       # the markers
        assert torch.equal(targets[40:], data_tokens)          # copied in order
        assert (targets[:40] == IGNORE).all()


def test_induction_heads_samples_follow_the_task():
    data = SyntheticTask("induction_heads", 20, seq_len=32, vocab_size=6, seed=0, stream=TRAIN)
    for i in range(len(data)):
        inputs, targets = data[i]
        trigger_at = (inputs == 5).nonzero().flatten().tolist()
        assert len(trigger_at) == 2 and trigger_at[1] == 31 and trigger_at[0] < 30
        assert targets[31] == inputs[trigger_at[0] + 1] and (targets[:31] == IGNORE).all()


def test_samples_are_deterministic_per_seed_stream_and_index():
    a = SyntheticTask("induction_heads", 8, 64, 16, seed=1, stream=TRAIN)
    again = SyntheticTask("induction_heads", 8, 64, 16, seed=1, stream=TRAIN)
    other_stream = SyntheticTask("induction_heads", 8, 64, 16, seed=1, stream=VAL)
    other_seed = SyntheticTask("induction_heads", 8, 64, 16, seed=2, stream=TRAIN)
    assert all(torch.equal(a[i][0], again[i][0]) for i in (7, 0, 3))
    assert not torch.equal(a[0][0], other_stream[0][0]) and not torch.equal(a[0][0], other_seed[0][0])
    assert not torch.equal(a[0][0], a[1][0])
    with pytest.raises(IndexError):
        a[8]


def test_training_batches_follow_the_step_and_resume_without_repeating():
    data = SyntheticDataModule("induction_heads", 8, 5, 1, batch_size=2, train_samples=8,
                               val_samples=2, seed=3)
    stream = SyntheticTask("induction_heads", 8, 8, 5, seed=3, stream=TRAIN)
    expected = [torch.stack([stream[i][0] for i in (2 * s, 2 * s + 1)]) for s in range(4)]
    assert all(torch.equal(b[0], e) for b, e in zip(data.train_dataloader(), expected))
    resumed = data.train_dataloader()
    resumed.load_state_dict({"step": 2})                   # what a step-2 checkpoint restores
    batches = [inputs for inputs, _ in resumed]
    assert len(batches) == 2 and all(torch.equal(b, e) for b, e in zip(batches, expected[2:]))


def test_answer_metrics_count_only_answer_positions():
    targets = torch.full((2, 4), IGNORE)
    targets[:, 2:] = torch.tensor([[1, 2], [3, 0]])
    logits = torch.zeros(2, 4, 5)
    logits[0, 2, 1] = logits[0, 3, 2] = 10            # sample 0: both right
    logits[1, 2, 3] = logits[1, 3, 4] = 10            # sample 1: one of two right
    logits[:, :2, 4] = 10                             # non-answer positions never count
    m = answer_metrics(logits, targets)
    assert (int(m["correct"]), int(m["answers"]), int(m["solved"])) == (3, 4, 1)
    assert m["loss"] < 5


def tiny(out: Path, *extra: str) -> list[str]:
    return [f"trainer.output_dir={out}", "trainer.max_steps=4", "trainer.val_every_n_steps=2",
            "trainer.checkpoint_every_n_steps=2", "trainer.progress_bar=false",
            "trainer.accelerator=cpu", "model.d_model=16", "model.n_layer=1",
            "data.batch_size=4", "data.val_samples=8", "optim.warmup_steps=1", *extra]


def test_induction_heads_job_tests_longer_lengths(tmp_path, capsys):
    cfg = CONFIGS / "induction_heads.yaml"
    assert main(["synthetic", str(cfg), *tiny(tmp_path, "data.seq_len=32", "model.selective=false",
                                               "eval.lengths=[16,64,128]", "eval.samples=6",
                                               "eval.tokens_per_batch=128")]) == 0
    run = tmp_path / "induction-heads"
    assert (run / "config.yaml").is_file() and (run / "length_eval.png").stat().st_size > 1000
    with open(run / "length_eval.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["length"]) for r in rows] == [16, 64, 128]
    assert all(0 <= float(r["accuracy"]) <= 1 and int(r["samples"]) == 6 for r in rows)
    out = capsys.readouterr().out
    assert "| length | samples | accuracy |" in out and "LTI (non-selective)" in out
    model, extra = load_model(run / "model.pt")
    assert model.config.selective is False and extra["task"] == "induction_heads"
    assert [r["length"] for r in extra["metrics"]["length_eval"]] == [16, 64, 128]


def test_selective_copying_job_learns_above_chance(tmp_path, capsys):
    # 4 data tokens from 2 values after 8 context tokens: 60 steps are enough to beat chance (1/2)
    args = tiny(tmp_path, "data.seq_len=8", "data.n_data=4", "data.vocab_size=4",
                "model.vocab_size=4", "model.d_model=32", "model.n_layer=2", "data.batch_size=32",
                "data.val_samples=64", "trainer.max_steps=60", "trainer.val_every_n_steps=60",
                "optim.lr=1e-2", "optim.weight_decay=0")
    assert main(["synthetic", str(CONFIGS / "selective_copying.yaml"), *args]) == 0
    _, extra = load_model(tmp_path / "selective-copying" / "model.pt")
    assert extra["metrics"]["val_accuracy"] > 0.75
    assert "sequences solved" in capsys.readouterr().out


def test_synthetic_config_errors_exit_2(tmp_path, capsys):
    cfg = str(CONFIGS / "selective_copying.yaml")
    assert main(["synthetic", cfg, "data.task=copying", f"trainer.output_dir={tmp_path}"]) == 2
    assert "data.task must be one of" in capsys.readouterr().err
    assert main(["synthetic", cfg, "model.vocab_size=8", f"trainer.output_dir={tmp_path}"]) == 2
    assert "'model.vocab_size' is 8" in capsys.readouterr().err
    assert main(["synthetic", cfg, "data.n_data=5000", f"trainer.output_dir={tmp_path}"]) == 2
    assert "data.n_data must be in" in capsys.readouterr().err
    assert main(["synthetic", cfg, "eval.lengths=[8]", f"trainer.output_dir={tmp_path}"]) == 2
    assert "eval.lengths entry 8: data.n_data must be in" in capsys.readouterr().err


def test_shipped_synthetic_configs_are_the_papers_sizes():
    from mambaseq.pipelines.config import load_config
    from mambaseq.pipelines.jobs.synthetic import SyntheticJobConfig
    copying, _ = load_config(SyntheticJobConfig, CONFIGS / "selective_copying.yaml")
    assert (copying.data.seq_len, copying.data.n_data, copying.data.vocab_size) == (4096, 16, 16)
    induction, _ = load_config(SyntheticJobConfig, CONFIGS / "induction_heads.yaml")
    assert induction.data.seq_len == 256 and max(induction.eval.lengths) == 2 ** 20
    for cfg in (copying, induction):
        assert (cfg.model.d_model, cfg.model.n_layer, cfg.model.vocab_size) == (64, 2, 16)


def test_max_minutes_ends_training_early_and_the_job_goes_on(tmp_path, capsys):
    # 0.0001 minutes run out within the first step: the job stops there, validates and saves
    args = tiny(tmp_path, "data.seq_len=16", "trainer.max_steps=1000", "trainer.max_minutes=0.0001",
                "eval.lengths=[]")
    assert main(["synthetic", str(CONFIGS / "induction_heads.yaml"), *args]) == 0
    _, extra = load_model(tmp_path / "induction-heads" / "model.pt")
    assert 1 <= extra["metrics"]["steps"] < 1000
    assert main(["synthetic", str(CONFIGS / "induction_heads.yaml"),
                 *tiny(tmp_path, "trainer.max_minutes=0")]) == 2
    assert "trainer.max_minutes must be positive" in capsys.readouterr().err
