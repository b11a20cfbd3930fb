"""Data parallelism through Lightning's strategies: two CPU processes (DDP, gloo) train like
one process on the same global batches; each rank reads its slice of every step's batch."""
import csv
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from mambaseq.pipelines.cli import main
from mambaseq.pipelines.config import ConfigFileError
from mambaseq.pipelines.data.dna_windows import DNADataConfig, DNAWindowsDataModule
from tests.bundled import DNA_DEMO_CONFIG as DEMO, DNA_FASTA as BUNDLED, REPO

ARGS = ["trainer.accelerator=cpu", "trainer.max_steps=4", "trainer.val_every_n_steps=2",
        "trainer.checkpoint_every_n_steps=2", "trainer.log_every_n_steps=1",
        "trainer.progress_bar=false", "data.seq_len=32", "data.batch_size=4",
        "data.max_val_windows=2", "model.d_model=16", "model.n_layer=1", "model.d_state=4",
        "optim.warmup_steps=1"]


def rank_batches(cfg: DNADataConfig, rank: int, world: int, steps: int) -> list[list]:
    data = DNAWindowsDataModule(cfg, seed=0)
    data.trainer = SimpleNamespace(global_rank=rank, world_size=world, global_step=0)
    data.setup()
    return [batch for batch, _ in zip(data.train_dataloader().batch_sampler, range(steps))]


def test_ranks_split_each_global_batch():
    cfg = DNADataConfig(fasta=str(BUNDLED), seq_len=32, batch_size=4, max_val_windows=2)
    one = rank_batches(cfg, 0, 1, 5)
    halves = [rank_batches(cfg, r, 2, 5) for r in range(2)]
    assert all(len(b) == 2 for h in halves for b in h)
    assert [a + b for a, b in zip(*halves)] == one
    with pytest.raises(ConfigFileError, match="'data.batch_size': 4 .* across the 3 processes"):
        rank_batches(cfg, 0, 3, 1)


def logged(run: Path, key: str) -> dict[int, float]:
    return {int(r["step"]): float(r[key]) for r in csv.DictReader(open(run / "logs" / "metrics.csv"))
            if r[key]}


def test_two_process_ddp_matches_one_process(tmp_path):
    assert main(["pretrain", str(DEMO), f"trainer.output_dir={tmp_path / 'one'}", *ARGS]) == 0
    # the command line a user runs; Lightning starts the second process itself
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "mambaseq.pipelines", "pretrain", str(DEMO),
                           f"trainer.output_dir={tmp_path / 'two'}", *ARGS, "trainer.devices=2",
                           "trainer.strategy=ddp"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Starting with 2 processes" in done.stderr + done.stdout
    assert done.stdout.count("[mambaseq] model:") == 1          # files written by rank 0 only
    one, two = tmp_path / "one" / "dna-demo", tmp_path / "two" / "dna-demo"
    w1 = torch.load(one / "model.pt", weights_only=True)["state_dict"]
    w2 = torch.load(two / "model.pt", weights_only=True)["state_dict"]
    for name in w1:
        torch.testing.assert_close(w2[name], w1[name], rtol=1e-5, atol=1e-6, msg=name)
    for key in ("train/loss", "val/loss"):
        a, b = logged(one, key), logged(two, key)
        assert a.keys() == b.keys() and len(a) >= 2
        for step in a:
            assert abs(a[step] - b[step]) < 1e-5, (key, step)
