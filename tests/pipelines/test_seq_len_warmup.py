"""Sequence-length warm-up: the length doubles per stage while the tokens per step stay
constant, stages change at the right steps, and a run resumed mid-warm-up is exact; the same
for species classification (``finetune``), whose bad warm-up values are one line, exit 2."""
import csv

import pytest

from mambaseq.pipelines.cli import main
from mambaseq.pipelines.config import ConfigFileError, SeqLenWarmupConfig, load_config
from mambaseq.pipelines.data.dna_windows import DNADataConfig, DNAWindowsDataModule
from mambaseq.pipelines.data.step_loader import LengthSchedule
from mambaseq.pipelines.data.species_windows import SpeciesDataModule
from mambaseq.pipelines.domains import PretrainDNAConfig
from mambaseq.pipelines.jobs.finetune import FinetuneDNAConfig
from mambaseq.pipelines.training.language_model import LMModule
from tests.bundled import DNA_DEMO_CONFIG as DEMO, DNA_FASTA as BUNDLED

from .test_finetune_job import CONFIG as SPECIES_CONFIG, DEMO as APES, tiny as tiny_finetune
from .test_resume import assert_same_weights, kill_then_resume, train_losses

WARMUP = ["data.seq_len=64", "data.batch_size=2", "data.seq_len_warmup.start_len=16",
          "data.seq_len_warmup.steps_per_stage=3", "data.train_windows_per_epoch=10",
          "trainer.max_steps=8", "trainer.val_every_n_steps=4", "trainer.checkpoint_every_n_steps=2",
          "trainer.log_every_n_steps=1", "trainer.progress_bar=false", "data.max_val_windows=2",
          "model.d_model=16", "model.n_layer=1", "model.d_state=4", "optim.warmup_steps=2"]


def test_schedule_doubles_length_and_keeps_tokens_per_step():
    schedule = LengthSchedule(seq_len=64, batch_size=2, start_len=16, steps_per_stage=3)
    shapes = [schedule.at(step) for step in range(10)]
    assert [s.length for s in shapes] == [16] * 3 + [32] * 3 + [64] * 4
    assert {s.length * s.batch for s in shapes} == {128}
    assert [schedule.stage(s) for s in (2, 3, 5, 6, 100)] == [0, 1, 1, 2, 2]
    assert LengthSchedule(64, 2).shapes == [LengthSchedule(64, 2).at(7)]


def test_data_module_batches_follow_the_schedule():
    cfg = DNADataConfig(fasta=str(BUNDLED), seq_len=64, batch_size=2, train_windows_per_epoch=20,
                        max_val_windows=2, seq_len_warmup=SeqLenWarmupConfig(16, 2))
    data = DNAWindowsDataModule(cfg, seed=0)
    data.setup()
    loader = data.train_dataloader()
    assert len(loader) == 10                                  # steps per epoch, any stage
    shapes = [tuple(batch.shape) for batch in loader]
    assert shapes == [(8, 17)] * 2 + [(4, 33)] * 2 + [(2, 65)] * 6
    loader.load_state_dict({"step": 3})                       # resume in the second stage
    assert [tuple(b.shape) for b in loader][:2] == [(4, 33), (2, 65)]
    assert tuple(next(iter(data.val_dataloader())).shape) == (2, 65)


@pytest.mark.parametrize("start_len", [24, 256, 0])
def test_bad_warmup_is_a_config_error(start_len):
    with pytest.raises(ConfigFileError, match="demo.yaml: data.seq_len_warmup.start_len must be"):
        load_config(PretrainDNAConfig, DEMO, [f"data.seq_len_warmup.start_len={start_len}",
                                              "data.seq_len_warmup.steps_per_stage=10"])


def test_warmup_run_resumed_mid_stage_is_exact(tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    assert main(["pretrain", str(DEMO), f"trainer.output_dir={whole}", *WARMUP]) == 0
    rows = [r for r in csv.DictReader(open(whole / "dna-demo" / "logs" / "metrics.csv"))
            if r["train/seq_len"]]
    assert [float(r["train/seq_len"]) for r in rows] == [16] * 3 + [32] * 3 + [64] * 2
    # killed in step 5: resumes from the checkpoint of step 4, in the middle of stage 2 (32 bases)
    kill_then_resume("pretrain", DEMO, WARMUP, tmp_path / "cut", LMModule, 5, monkeypatch)
    cut = tmp_path / "cut" / "dna-demo"
    assert_same_weights(whole / "dna-demo" / "model.pt", cut / "model.pt")
    assert train_losses(cut) == train_losses(whole / "dna-demo")


SPECIES_WARMUP = ["data.seq_len=64", "data.batch_size=2", "data.seq_len_warmup.start_len=16",
                  "data.seq_len_warmup.steps_per_stage=2", "data.train_windows_per_epoch=12"]


def test_species_batches_follow_the_schedule():
    cfg, _ = load_config(FinetuneDNAConfig, SPECIES_CONFIG,
                         [f"data.train_dir={APES / 'train'}", f"data.val_dir={APES / 'val'}",
                          "data.val_windows_per_species=1", *SPECIES_WARMUP])
    data = SpeciesDataModule(cfg.data, seed=0)
    data.setup()
    loader = data.train_dataloader()
    assert len(loader) == 6                                    # steps per epoch, any stage
    batches = list(loader)
    assert [tuple(ids.shape) for ids, _, _ in batches] == [(8, 16)] * 2 + [(4, 32)] * 2 + [(2, 64)] * 2
    assert all(lengths.tolist() == [ids.shape[1]] * len(ids) for ids, lengths, _ in batches)
    assert all(labels.min() >= 0 and labels.max() < 4 for _, _, labels in batches)
    loader.load_state_dict({"step": 3})                        # resume in the second stage
    assert [tuple(ids.shape) for ids, _, _ in loader][:2] == [(4, 32), (2, 64)]
    ids, lengths, _ = next(iter(data.val_dataloader()))
    assert ids.shape[1] == 64 and lengths.tolist() == [64, 64]


def test_finetune_logs_the_warmup_lengths_per_step(tmp_path):
    args = [*tiny_finetune(tmp_path), *SPECIES_WARMUP, "trainer.max_steps=7",
            "trainer.log_every_n_steps=1"]
    assert main(["finetune", str(SPECIES_CONFIG), *args]) == 0
    rows = [r for r in csv.DictReader(open(tmp_path / "species-demo" / "logs" / "metrics.csv"))
            if r["train/seq_len"]]
    assert [float(r["train/seq_len"]) for r in rows] == [16] * 2 + [32] * 2 + [64] * 3


@pytest.mark.parametrize("override, key", [
    ("data.seq_len_warmup.start_len=24", "data.seq_len_warmup.start_len"),
    ("data.seq_len_warmup.start_len=64", "data.seq_len_warmup.start_len"),
    ("data.seq_len_warmup.start_len=0", "data.seq_len_warmup.start_len"),
    ("data.seq_len_warmup.steps_per_stage=0", "data.seq_len_warmup.steps_per_stage"),
    ("data.min_seq_len=8", "data.min_seq_len"),
    ("data.seq_len_warmup.start_len=abc", "data.seq_len_warmup.start_len")])
def test_bad_species_warmup_is_one_line_and_exit_code_2(tmp_path, capsys, override, key):
    args = [*tiny_finetune(tmp_path), *SPECIES_WARMUP, override]
    assert main(["finetune", str(SPECIES_CONFIG), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mambaseq finetune: error: ") and key in err[0]
    assert not (tmp_path / "species-demo").exists()
