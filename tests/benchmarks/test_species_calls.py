"""benchmarks/species_calls.sh, the species table over several GPU calls: what it refuses
before writing anything, and the resume that skips a finished row (no training runs here)."""
import os
import subprocess
import sys

from tests.bundled import APES_DEMO, REPO

SCRIPT = REPO / "benchmarks" / "species_calls.sh"
HEADER = "length,architecture,pooling,init,steps,train_minutes,val_accuracy,val_f1_macro,chance,windows"


def species_calls(out, *args, **env):
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    return subprocess.run(["bash", str(SCRIPT), str(APES_DEMO), str(out), *args], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "PATH": path, **env})


def test_a_missing_pretrained_model_is_refused_before_anything_is_written(tmp_path):
    done = species_calls(tmp_path / "out", RUNS="16k:causal 1k:rc", PRETRAINED_1k="/no/model.pt")
    assert done.returncode == 2
    assert done.stderr.strip() == "PRETRAINED_1k=/no/model.pt: no such model file"
    assert not (tmp_path / "out").exists()


def test_a_species_csv_of_the_old_layout_is_refused(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "species.csv").write_text(
        "length,architecture,pooling,steps,train_minutes,val_accuracy,val_f1_macro,chance,windows\n")
    done = species_calls(tmp_path / "out", str(old), RUNS="1k:causal")
    assert done.returncode == 2 and "its header is not" in done.stderr
    assert not (tmp_path / "out").exists()


def test_resume_skips_the_finished_row_of_the_same_init_only(tmp_path):
    previous = tmp_path / "previous"
    previous.mkdir()
    row = "1k,causal,last,scratch,2048,2.3,0.2568,0.1525,0.2500,1024"
    (previous / "species.csv").write_text(f"{HEADER}\n{row}\n")
    done = species_calls(tmp_path / "out", str(previous), RUNS="1k:causal", END="0")
    assert done.returncode == 0, done.stderr
    assert "1k causal last scratch: in species.csv already" in done.stdout
    assert (tmp_path / "out" / "species.csv").read_text() == f"{HEADER}\n{row}\n"
    assert "| 1k | causal | last | scratch | 2048 |" in (tmp_path / "out" / "species.md").read_text()
    model = tmp_path / "lm" / "model.pt"
    model.parent.mkdir()
    model.write_bytes(b"")
    done = species_calls(tmp_path / "out", RUNS="1k:causal", END="0", PRETRAINED_1k=str(model))
    assert "stop before 1k causal last lm:" in done.stdout   # another init: not skipped
    done = species_calls(tmp_path / "out", RUNS="1k:causal:mean", END="0")
    assert "stop before 1k causal mean scratch:" in done.stdout   # another pooling: not skipped


def test_a_pooling_that_does_not_fit_the_architecture_is_refused(tmp_path):
    for runs, bad in (("1k:causal 1k:rc:last", "last"), ("16k:causal:sum", "sum"),
                      ("1k:causal:mean:x", "mean:x")):
        done = species_calls(tmp_path / "out", RUNS=runs)
        assert done.returncode == 2 and done.stderr.startswith(f"RUNS: pooling {bad} in "), done.stderr
    assert not (tmp_path / "out").exists()


def test_a_call_that_finishes_no_run_says_so_in_its_table(tmp_path):
    done = species_calls(tmp_path / "out", RUNS="16k:rc", END="0")
    assert done.returncode == 0, done.stderr
    assert "stop before 16k rc_equivariant mean scratch:" in done.stdout
    assert (tmp_path / "out" / "species.csv").read_text() == f"{HEADER}\n"
    assert "no finished run yet" in (tmp_path / "out" / "species.md").read_text()
