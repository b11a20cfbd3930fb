"""A NaN or Inf loss or gradient stops training with a one-line error naming the step and
where it came from, and leaves the last good checkpoint as last.ckpt."""
from pathlib import Path

import pytest
import torch

from mambaseq.pipelines.cli import main
from mambaseq.pipelines.training.language_model import LMModule
from tests.bundled import DNA_DEMO_CONFIG as DEMO, DNA_FASTA as BUNDLED, REPO

ARGS = ["trainer.max_steps=8", "trainer.val_every_n_steps=4", "trainer.checkpoint_every_n_steps=2",
        "trainer.progress_bar=false", "data.seq_len=32", "data.batch_size=2",
        "data.max_val_windows=2", "model.d_model=16", "model.n_layer=1", "model.d_state=4",
        "optim.warmup_steps=1"]


def poison_at(monkeypatch, step, poison):
    """Make LMModule call ``poison(module)`` before its training step ``step``."""
    train_step = LMModule.training_step

    def poisoned(self, batch, batch_idx):
        if self.global_step == step:
            poison(self)
        return train_step(self, batch, batch_idx)

    monkeypatch.setattr(LMModule, "training_step", poisoned)


def assert_last_checkpoint_is_step(run: Path, step: int) -> None:
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == step
    assert all(torch.isfinite(w).all() for w in ckpt["state_dict"].values())
    assert not (run / "model.pt").exists()


def test_infinite_weight_names_first_nonfinite_module(tmp_path, monkeypatch, capsys):
    def inf_weight(module):
        with torch.no_grad():
            module.model.backbone.layers[0].mixer.out_proj.weight[0, 0] = float("inf")

    poison_at(monkeypatch, 5, inf_weight)
    assert main(["pretrain", str(DEMO), f"trainer.output_dir={tmp_path}", *ARGS]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mambaseq pretrain: error: ")
    assert "global step 5: the loss is nan" in err
    assert "first module whose output is not finite is model.backbone.layers.0.mixer.out_proj (Linear)" in err
    run = tmp_path / "dna-demo"
    assert f"the last good checkpoint is {run / 'checkpoints' / 'last.ckpt'}" in err
    assert_last_checkpoint_is_step(run, 4)


def test_nonfinite_gradient_is_named(tmp_path, monkeypatch, capsys):
    def nan_gradient(module):
        module.model.backbone.layers[0].mixer.A_log.register_hook(lambda g: torch.full_like(g, float("nan")))

    poison_at(monkeypatch, 3, nan_gradient)
    # with activation checkpointing the reported name is still the model's own
    assert main(["pretrain", str(DEMO), f"trainer.output_dir={tmp_path}", *ARGS,
                 "trainer.activation_checkpointing=true"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "global step 3: the gradient of model.backbone.layers.0.mixer.A_log is not finite" in err
    assert_last_checkpoint_is_step(tmp_path / "dna-demo", 2)


def test_guard_can_be_turned_off(tmp_path, monkeypatch):
    def nan_gradient(module):
        module.model.backbone.layers[0].mixer.A_log.register_hook(lambda g: torch.full_like(g, float("nan")))

    poison_at(monkeypatch, 6, nan_gradient)
    assert main(["pretrain", str(DEMO), f"trainer.output_dir={tmp_path}", *ARGS,
                 "trainer.stop_on_nonfinite=false"]) == 0


@pytest.mark.gpu
def test_guard_stops_packed_bf16_run_on_the_gpu(tmp_path, monkeypatch, capsys):
    # configs/dna/pretrain_varlen.yaml as shipped (packed 1K-32K windows, bf16, 12 x 128) on
    # the bundled FASTA; a NaN planted in one weight before step 5 stops it there
    def nan_weight(module):
        with torch.no_grad():
            module.model.backbone.layers[3].mixer.in_proj.weight[0, 0] = float("nan")

    poison_at(monkeypatch, 5, nan_weight)
    args = [f"trainer.output_dir={tmp_path}", f"data.fasta={BUNDLED}", "data.val_fraction=0.2",
            "data.num_workers=0", "data.max_val_windows=2", "trainer.max_steps=8",
            "trainer.val_every_n_steps=4", "trainer.checkpoint_every_n_steps=2",
            "trainer.progress_bar=false"]
    assert main(["pretrain", str(REPO / "configs" / "dna" / "pretrain_varlen.yaml"), *args]) == 2
    err = capsys.readouterr().err.strip()
    print(err)
    assert len(err.splitlines()) == 1 and "global step 5: the loss is nan" in err
    assert "model.backbone.layers.3.mixer.in_proj (IntoChannels)" in err     # an nn.Linear
    run = tmp_path / "pretrain-varlen"
    assert f"the last good checkpoint is {run / 'checkpoints' / 'last.ckpt'}" in err
    assert_last_checkpoint_is_step(run, 4)
