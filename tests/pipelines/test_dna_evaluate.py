"""``mambaseq evaluate`` on DNA models: a language model's bits per base on its validation
split or on any FASTA, a species classifier's accuracy, macro-F1 and confusion matrix."""
import csv

import pytest

from mambaseq.pipelines.cli import main
from tests.bundled import DNA_FASTA as BUNDLED

from .test_finetune_job import CONFIG, DEMO, PRETRAIN, tiny


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    lm = [f"trainer.output_dir={out}", "trainer.max_steps=2", "trainer.val_every_n_steps=2",
          "trainer.checkpoint_every_n_steps=2", "trainer.progress_bar=false", "data.seq_len=32",
          "data.batch_size=2", "data.max_val_windows=3", "model.d_model=16", "model.n_layer=1",
          "model.d_state=4", "optim.warmup_steps=1", "trainer.run_name=lm", f"data.fasta={BUNDLED}"]
    assert main(["pretrain", str(PRETRAIN), *lm]) == 0
    assert main(["finetune", str(CONFIG), *tiny(out)]) == 0
    return out


def test_language_model_bits_per_base(runs, capsys):
    model = runs / "lm" / "model.pt"
    assert main(["evaluate", "--checkpoint", str(model), "--split", "validation",
                 "--max-windows", "3"]) == 0
    row = next(csv.DictReader(open(runs / "lm" / "evaluation.csv")))
    assert row["set"] == "validation" and row["windows"] == "3"
    assert 0 < float(row["bits_per_base"]) < 4
    assert "bits_per_base" in capsys.readouterr().out
    out = runs / "other.csv"
    assert main(["evaluate", "--checkpoint", str(model), "--fasta", str(DEMO / "val" / "Ptro.fa"),
                 "--max-windows", "2", "--output", str(out)]) == 0
    assert next(csv.DictReader(open(out)))["windows"] == "2"
    assert main(["evaluate", "--checkpoint", str(model), "--max-windows", "3"]) == 2
    err = capsys.readouterr().err
    assert "evaluation.csv exists (from an earlier run); pass --overwrite" in err
    assert main(["evaluate", "--checkpoint", str(model), "--split", "test", "--overwrite"]) == 2
    assert "--split test needs a run trained with data.bed" in capsys.readouterr().err


def test_classifier_accuracy_and_confusion_matrix(runs, capsys):
    model = runs / "species-demo" / "model.pt"
    finetune_matrix = (runs / "species-demo" / "confusion_matrix.csv").read_bytes()
    assert main(["evaluate", "--checkpoint", str(model), "--species-dir", str(DEMO / "val"),
                 "--windows-per-species", "3"]) == 0
    assert (runs / "species-demo" / "confusion_matrix.csv").read_bytes() == finetune_matrix
    row = next(csv.DictReader(open(runs / "species-demo" / "evaluation.csv")))
    assert row["windows"] == "12" and 0 <= float(row["accuracy"]) <= 1
    assert 0 <= float(row["f1_macro"]) <= 1
    assert (runs / "species-demo" / "evaluation_confusion_matrix.png").is_file()
    assert main(["evaluate", "--checkpoint", str(model)]) == 2
    assert "--species-dir" in capsys.readouterr().err
