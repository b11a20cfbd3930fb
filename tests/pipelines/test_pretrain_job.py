"""The walking skeleton end to end: pretrain on the bundled DNA, resume, generate, errors."""
from pathlib import Path

import torch

from mambaseq.core import load_model
from mambaseq.pipelines.cli import main
from tests.bundled import DNA_DEMO_CONFIG as DEMO, DNA_FASTA as BUNDLED


def tiny_overrides(out: Path, steps: int) -> list[str]:
    return [f"data.fasta={BUNDLED}", f"trainer.output_dir={out}", f"trainer.max_steps={steps}",
            "trainer.val_every_n_steps=4", "trainer.checkpoint_every_n_steps=4",
            "trainer.progress_bar=false", "data.seq_len=64", "data.batch_size=4",
            "data.max_val_windows=4", "model.d_model=16", "model.n_layer=1", "optim.warmup_steps=2"]


def test_pretrain_resume_and_generate(tmp_path, capsys):
    assert main(["pretrain", str(DEMO), *tiny_overrides(tmp_path, 4)]) == 0
    run = tmp_path / "dna-demo"
    assert (run / "config.yaml").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "logs" / "metrics.csv").is_file()
    model, extra = load_model(run / "model.pt")
    assert extra["run_config"]["model"]["d_model"] == 16 and extra["tokenizer"] == "dna-char"
    bits = extra["metrics"]["val_bits_per_base"]
    assert 0 < bits < 4
    out = capsys.readouterr().out
    assert f"{bits:.4f} bits per base" in out

    # the run folder holds last.ckpt: asking for more steps resumes instead of restarting
    assert main(["pretrain", str(DEMO), *tiny_overrides(tmp_path, 8)]) == 0
    out = capsys.readouterr().out
    assert "resuming from" in out
    _, extra = load_model(run / "model.pt")
    assert extra["metrics"]["steps"] == 8

    for checkpoint in (run / "model.pt", run / "checkpoints" / "last.ckpt"):
        assert main(["generate", "--checkpoint", str(checkpoint), "--prompt", "ACGT",
                     "--num-tokens", "50", "--num-samples", "2", "--seed", "3"]) == 0
        lines = capsys.readouterr().out.splitlines()
        records = [l for l in lines if l.startswith(">")]
        bases = "".join(l for l in lines if not l.startswith(">"))
        assert len(records) == 2 and len(bases) == 2 * 54 and set(bases) <= set("ACGTN")
    assert main(["generate", "--checkpoint", str(run / "model.pt"), "--prompt", "ACGT",
                 "--num-tokens", "50", "--state-dtype", "bfloat16"]) == 0
    bases = "".join(l for l in capsys.readouterr().out.splitlines() if not l.startswith(">"))
    assert len(bases) == 54 and set(bases) <= set("ACGTN")


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO.read_text().replace("d_model:", "d_modl:"))
    assert main(["pretrain", str(bad)]) == 2
    assert "bad.yaml: key 'model.d_modl'" in capsys.readouterr().err
    assert main(["pretrain", str(DEMO), "model.vocab_size=12", f"trainer.output_dir={tmp_path}"]) == 2
    assert "'model.vocab_size' is 12" in capsys.readouterr().err
    torch.save({"x": 1}, tmp_path / "junk.pt")
    assert main(["generate", "--checkpoint", str(tmp_path / "junk.pt")]) == 2
    assert "junk.pt: not a mambaseq model file" in capsys.readouterr().err


def test_bad_arguments_and_unservable_data_exit_2(tmp_path, capsys):
    assert main(["generate", "--checkpoint", "x.pt", "--num-samples", "0"]) == 2
    err = capsys.readouterr().err
    assert err == ("mambaseq generate: error: argument --num-samples: must be a positive integer, "
                   "got 0 (see mambaseq generate --help)\n")
    assert main(["generate", "--checkpoint", "x.pt", "--state-dtype", "float16"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["evaluate"]) == 2
    assert "give --checkpoint" in capsys.readouterr().err
    too_long = ["data.seq_len=300000", f"trainer.output_dir={tmp_path}", "trainer.progress_bar=false"]
    assert main(["pretrain", str(DEMO), f"data.fasta={BUNDLED}", *too_long]) == 2
    assert "no training region holds a window" in capsys.readouterr().err
    assert main(["pretrain", str(DEMO), f"data.fasta={BUNDLED}", f"trainer.output_dir={tmp_path}",
                 "trainer.accelerator=cpu", "trainer.devices=2", "trainer.strategy=fsdp"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "refused by Lightning" in err and "fsdp" in err


def test_progress_lines_when_stdout_is_not_a_terminal(tmp_path, capsys):
    # pytest captures stdout: not a terminal, so every trainer.log_every_n_steps steps a line
    assert main(["pretrain", str(DEMO), *tiny_overrides(tmp_path, 6),
                 "trainer.log_every_n_steps=2"]) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("[mambaseq] step ")]
    assert [l.split()[2] for l in lines] == ["2/6", "4/6", "6/6"]
    assert all(" loss " in l and " tokens/s " in l and "left 0:00:" in l for l in lines)
    assert lines[-1].endswith("left 0:00:00")
