"""Issue 18: every user mistake ends in one line ``mambaseq JOB: error: ...`` with exit code 2
before any work; a failed launch changes nothing in an existing run folder; outputs are never
overwritten silently."""
import hashlib
import shutil
from pathlib import Path

import pytest

from mambaseq.pipelines.cli import main

from .test_finetune_job import CONFIG as FINETUNE, DEMO as APES, tiny as tiny_finetune
from .test_pretrain_job import DEMO, tiny_overrides

REPO = Path(__file__).resolve().parents[2]


def folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def assert_one_line_error(capsys, argv: list[str], job: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"mambaseq {job}: error: ")
    assert not any("Traceback" in line for line in err)
    return err[-1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["pretrain", str(DEMO), *tiny_overrides(out, 4)]) == 0
    assert main(["finetune", str(FINETUNE), *tiny_finetune(out)]) == 0
    return out


def lm_args(runs: Path) -> list[str]:
    return [str(DEMO), *tiny_overrides(runs, 4)]


BAD_CONFIG_VALUES = ["data.batch_size=0", "data.batch_size=-3", "optim.lr=-1", "optim.lr=nan",
                     "data.seq_len=0", "data.val_fraction=1.5", "data.val_fraction=-0.1",
                     "trainer.max_steps=0", "trainer.val_every_n_steps=-1", "optim.betas=[0.9,1.5]",
                     "optim.warmup_steps=-2", "data.max_val_windows=0", "model.d_model=0",
                     "data.batch_size=abc", "data.max_n_fraction=2", "optim.min_lr_ratio=3"]


@pytest.mark.parametrize("override", BAD_CONFIG_VALUES)
def test_bad_config_value_leaves_the_run_untouched(runs, capsys, override):
    run = runs / "dna-demo"
    before = folder_hash(run)
    line = assert_one_line_error(capsys, ["pretrain", *lm_args(runs), override], "pretrain")
    assert override.split("=")[0] in line
    assert folder_hash(run) == before


def test_bad_finetune_values(runs, capsys, tmp_path):
    for override in ("data.val_windows_per_species=0", "data.val_fraction=1", "optim.lr=-1"):
        assert_one_line_error(capsys, ["finetune", str(FINETUNE), *tiny_finetune(tmp_path),
                                       override], "finetune")
    assert not any(tmp_path.iterdir())                  # no debris folder


def job_bad_arguments(runs: Path) -> list[tuple[str, list[str]]]:
    lm, cls = str(runs / "dna-demo" / "model.pt"), str(runs / "species-demo" / "model.pt")
    fasta = str(APES / "val" / "Ptro.fa")
    return [
        ("generate", ["--checkpoint", lm, "--temperature", "-1"]),
        ("generate", ["--checkpoint", lm, "--temperature", "x"]),
        ("generate", ["--checkpoint", lm, "--top-k", "-3"]),
        ("generate", ["--checkpoint", lm, "--top-k", "0"]),
        ("generate", ["--checkpoint", lm, "--top-p", "2"]),
        ("generate", ["--checkpoint", lm, "--top-p", "0"]),
        ("generate", ["--checkpoint", lm, "--num-tokens", "0"]),
        ("generate", ["--checkpoint", lm, "--num-samples", "-1"]),
        ("generate", ["--checkpoint", lm, "--device", "cuda:99"]),
        ("generate", ["--checkpoint", lm, "--device", "gpu"]),
        ("generate", ["--checkpoint", cls]),                       # a classifier
        ("generate", ["--checkpoint", lm, "--prompt-audio", fasta]),  # the other domain
        ("generate", ["--checkpoint", lm, "--out-dir", "x"]),
        ("classify", ["--checkpoint", cls, "--fasta", fasta, "--batch-size", "0"]),
        ("classify", ["--checkpoint", cls, "--fasta", fasta, "--batch-size", "-1"]),
        ("classify", ["--checkpoint", cls, "--fasta", fasta, "--window", "-5"]),
        ("classify", ["--checkpoint", cls, "--fasta", fasta, "--stride", "4"]),
        ("classify", ["--checkpoint", cls, "--fasta", fasta, "--output", fasta]),
        ("classify", ["--checkpoint", lm, "--fasta", fasta]),      # not a classifier
        ("evaluate", ["--checkpoint", lm, "--batch-size", "0"]),
        ("evaluate", ["--checkpoint", lm, "--max-windows", "0"]),
        ("evaluate", ["--checkpoint", lm, "--species-dir", str(APES / "val")]),
        ("evaluate", ["--checkpoint", lm, "--data-root", "x"]),       # audio only
        ("evaluate", ["--checkpoint", cls, "--species-dir", str(APES / "val"), "--split", "train"]),
        ("evaluate", ["--checkpoint", cls, "--windows-per-species", "0"]),
        ("evaluate", ["--checkpoint", lm, "--split", "nope"]),
    ]


def test_every_job_refuses_bad_arguments_in_one_line(runs, capsys):
    if shutil.which("nvidia-smi") is None:
        job_cases = job_bad_arguments(runs) + [
            ("generate", ["--checkpoint", str(runs / "dna-demo" / "model.pt"), "--device", "cuda"])]
    else:
        job_cases = job_bad_arguments(runs)
    for job, argv in job_cases:
        assert_one_line_error(capsys, [job, *argv], job)


@pytest.mark.parametrize("variable, value", [("MAMBASEQ_KERNELS", "fast"), ("MAMBASEQ_PDL", "yes")])
def test_bad_kernel_switch_is_one_line_before_any_work(runs, capsys, monkeypatch, tmp_path,
                                                       variable, value):
    """A kernel switch the kernels would refuse mid-run is refused first: nothing written."""
    monkeypatch.setenv(variable, value)
    out = tmp_path / "fresh"
    line = assert_one_line_error(capsys, ["pretrain", str(DEMO), *tiny_overrides(out, 4)],
                                 "pretrain")
    assert f"{variable}={value!r}" in line and not out.exists()


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("mambaseq 0.")


def test_help_shows_no_rest_literals(capsys):
    for job in ("classify", "evaluate", "pretrain"):
        with pytest.raises(SystemExit):
            main([job, "--help"])
        assert "``" not in capsys.readouterr().out


def test_resume_refuses_another_model_shape_and_bad_data(runs, capsys):
    run = runs / "dna-demo"
    before = folder_hash(run)
    line = assert_one_line_error(capsys, ["pretrain", *lm_args(runs), "model.d_model=32"],
                                 "pretrain")
    assert "model.d_model: 16 -> 32" in line and "trainer.resume=false" in line
    assert "trainer.run_name" in line
    assert_one_line_error(capsys, ["pretrain", *lm_args(runs), "trainer.resume=false",
                                   "data.seq_len=300000"], "pretrain")
    assert_one_line_error(capsys, ["pretrain", *lm_args(runs), "trainer.resume=false",
                                   f"data.fasta={runs / 'missing.fa'}"], "pretrain")
    assert folder_hash(run) == before


def test_unreadable_last_checkpoint_falls_back(runs, tmp_path, capsys):
    run = tmp_path / "dna-demo"
    shutil.copytree(runs / "dna-demo", run)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    assert main(["pretrain", str(DEMO), *tiny_overrides(tmp_path, 8)]) == 0
    captured = capsys.readouterr()
    assert "last.ckpt cannot be read; resuming from step4.ckpt (step 4)" in captured.err
    for ckpt in (run / "checkpoints").glob("*.ckpt"):
        ckpt.write_bytes(b"junk")
    line = assert_one_line_error(capsys, ["pretrain", str(DEMO), *tiny_overrides(tmp_path, 12)],
                                 "pretrain")
    assert "no checkpoint can be read" in line


def test_empty_fasta_record_is_named(runs, tmp_path, capsys):
    fasta = tmp_path / "empty.fa"
    fasta.write_text(">a\nACGTACGT\n>empty\n")
    line = assert_one_line_error(capsys, ["classify", "--checkpoint",
                                          str(runs / "species-demo" / "model.pt"),
                                          "--fasta", str(fasta)], "classify")
    assert "record 'empty' has a header and no sequence" in line


def test_classify_output_is_not_overwritten(runs, tmp_path, capsys):
    out = tmp_path / "pred.tsv"
    argv = ["classify", "--checkpoint", str(runs / "species-demo" / "model.pt"),
            "--fasta", str(APES / "val" / "Ptro.fa"), "--window", "64", "--output", str(out)]
    assert main(argv) == 0
    first = out.read_bytes()
    assert "pass --overwrite" in assert_one_line_error(capsys, argv, "classify")
    assert out.read_bytes() == first
    assert main([*argv, "--overwrite"]) == 0


def test_silenced_library_noise(runs, tmp_path, capsys, recwarn):
    assert main(["pretrain", str(DEMO), *tiny_overrides(tmp_path, 2)]) == 0
    captured = capsys.readouterr()
    assert "litlogger" not in captured.out + captured.err
    assert not [w for w in recwarn if "LeafSpec" in str(w.message)]


def test_ctrl_c_names_the_saved_step_and_the_resume_command(tmp_path, monkeypatch, capsys):
    from mambaseq.pipelines.training.language_model import LMModule
    original = LMModule.training_step

    def interrupted(self, batch, batch_idx):
        if self.global_step == 5:
            raise KeyboardInterrupt
        return original(self, batch, batch_idx)

    monkeypatch.setattr(LMModule, "training_step", interrupted)
    argv = ["pretrain", str(DEMO), *tiny_overrides(tmp_path, 8)]
    monkeypatch.setattr("sys.argv", ["mambaseq", *argv])
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted at step 5;" in err and "holds step 4; resume with: mambaseq pretrain" in err



def test_ctrl_c_outside_training_exits_130_in_one_line(monkeypatch, capsys):
    from mambaseq.pipelines.jobs import generate

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "run", interrupted)
    assert main(["generate", "--checkpoint", "model.pt"]) == 130
    assert capsys.readouterr().err.strip() == "mambaseq generate: interrupted"


OTHER_JOBS_BAD_VALUES = [
    ("synthetic", "configs/synthetic/induction_heads.yaml", "data.seq_len=2"),
    ("synthetic", "configs/synthetic/selective_copying.yaml", "data.n_data=0"),
    ("synthetic", "configs/synthetic/induction_heads.yaml", "eval.samples=0"),
    ("synthetic", "configs/synthetic/induction_heads.yaml", "optim.lr=-1"),
    ("scale", "configs/scale/dna_demo.yaml", "optim.lr=nan"),
    ("scale", "configs/scale/dna_demo.yaml", "trainer.max_steps=0"),
    ("sc09-classifier", "configs/audio/sc09_classifier.yaml", "data.batch_size=0"),
    ("sc09-classifier", "configs/audio/sc09_classifier.yaml", "optim.warmup_steps=-1"),
]


@pytest.mark.parametrize("job, config, override", OTHER_JOBS_BAD_VALUES)
def test_other_jobs_refuse_bad_values_before_writing(tmp_path, capsys, job, config, override):
    argv = [job, str(REPO / config), f"trainer.output_dir={tmp_path}", override]
    if job == "sc09-classifier":
        argv.append(f"data.root={tmp_path}")           # required; the bad value comes first
    line = assert_one_line_error(capsys, argv, job)
    assert override.split("=")[0] in line
    assert not any(tmp_path.iterdir())


def test_export_refuses_bad_arguments(runs, tmp_path, capsys):
    model = str(runs / "dna-demo" / "model.pt")
    for argv in (["--checkpoint", model, "--format", "onnx", "--out", str(tmp_path / "a")],
                 ["--checkpoint", str(tmp_path / "missing.pt"), "--format", "hf",
                  "--out", str(tmp_path / "b")],
                 ["--checkpoint", model, "--format", "hf", "--out", model]):
        assert_one_line_error(capsys, ["export", *argv], "export")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
