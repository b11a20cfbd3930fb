"""Species classification end to end on the bundled great apes slice: finetune from scratch
and from a pretrained language model, classify records and sliding windows, config errors."""
import csv
import io
import json
from pathlib import Path

import pytest
import torch

from benchmarks.species_pooling import write_composition_species
from mambaseq.core import BidirectionalClassifier, MambaClassifier, load_model
from mambaseq.pipelines.cli import main
from mambaseq.pipelines.config import ConfigFileError, load_config
from mambaseq.pipelines.jobs.finetune import FinetuneDNAConfig
from tests.bundled import APES_DEMO as DEMO, REPO

CONFIG = REPO / "configs" / "dna" / "species_demo.yaml"
PRETRAIN = REPO / "configs" / "dna" / "demo.yaml"


def tiny(out: Path, *extra: str) -> list[str]:
    return [f"data.train_dir={DEMO / 'train'}", f"data.val_dir={DEMO / 'val'}",
            f"trainer.output_dir={out}", "trainer.max_steps=3", "trainer.val_every_n_steps=3",
            "trainer.checkpoint_every_n_steps=3", "trainer.progress_bar=false",
            "data.seq_len=48", "data.batch_size=4", "data.val_windows_per_species=2",
            "model.d_model=16", "model.n_layer=1", "model.d_state=4", "optim.warmup_steps=1", *extra]


def test_finetune_then_classify(tmp_path, capsys):
    assert main(["finetune", str(CONFIG), *tiny(tmp_path, "classifier.architecture=rc_equivariant")]) == 0
    run = tmp_path / "species-demo"
    model, extra = load_model(run / "model.pt")
    assert isinstance(model, BidirectionalClassifier) and model.involution is not None
    assert extra["classes"] == ["Ggor", "Hsap", "Ppyg", "Ptro"] and extra["window"] == 48
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["val_accuracy"] <= 1 and 0 <= metrics["val_f1_macro"] <= 1
    rows = list(csv.reader(open(run / "confusion_matrix.csv")))
    assert rows[0] == ["true\\predicted", "Ggor", "Hsap", "Ppyg", "Ptro"]
    counts = [[int(x) for x in row[1:]] for row in rows[1:]]
    assert [sum(r) for r in counts] == [2, 2, 2, 2]                # 2 fixed windows per species
    assert abs(sum(counts[i][i] for i in range(4)) / 8 - metrics["val_accuracy"]) < 1e-6
    assert (run / "confusion_matrix.png").stat().st_size > 1000
    assert "accuracy" in capsys.readouterr().out

    # one row per record, then one per sliding window (the last one padded)
    fasta = DEMO / "val" / "Hsap.fa"
    assert main(["classify", "--checkpoint", str(run / "model.pt"), "--fasta", str(fasta)]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out), delimiter="\t"))
    assert len(table) == 1 and table[0]["end"] == "15000"
    probs = [float(table[0][f"p_{c}"]) for c in extra["classes"]]
    assert abs(sum(probs) - 1) < 1e-4 and table[0]["predicted"] == extra["classes"][probs.index(max(probs))]
    out = tmp_path / "pred.tsv"
    assert main(["classify", "--checkpoint", str(run / "model.pt"), "--fasta", str(fasta),
                 "--window", "4000", "--stride", "4000", "--output", str(out)]) == 0
    table = list(csv.DictReader(open(out), delimiter="\t"))
    assert [(r["start"], r["end"]) for r in table] == [("0", "4000"), ("4000", "8000"),
                                                       ("8000", "12000"), ("12000", "15000")]
    # an RC-equivariant model gives the same probabilities for the reverse strand
    rc_fasta = tmp_path / "rc.fa"
    seq = open(fasta).read().split("\n", 1)[1].replace("\n", "")[:3000]
    rc_fasta.write_text(">rc\n" + seq[::-1].translate(str.maketrans("ACGTacgt", "TGCAtgca")) + "\n")
    (tmp_path / "fw.fa").write_text(">fw\n" + seq + "\n")
    capsys.readouterr()
    for name in ("fw.fa", "rc.fa"):
        assert main(["classify", "--checkpoint", str(run / "model.pt"), "--fasta", str(tmp_path / name)]) == 0
    header, fw, _, rc = capsys.readouterr().out.splitlines()        # two TSVs, one row each
    fw, rc = [dict(zip(header.split("\t"), row.split("\t"))) for row in (fw, rc)]
    for c in extra["classes"]:
        assert abs(float(fw[f"p_{c}"]) - float(rc[f"p_{c}"])) < 1e-4


def test_finetune_from_pretrained_backbone(tmp_path):
    lm_overrides = [f"trainer.output_dir={tmp_path}", "trainer.max_steps=2", "trainer.val_every_n_steps=2",
                    "trainer.checkpoint_every_n_steps=2", "trainer.progress_bar=false", "data.seq_len=32",
                    "data.batch_size=2", "data.max_val_windows=2", "model.d_model=16", "model.n_layer=1",
                    "model.d_state=4", "optim.warmup_steps=1", "trainer.run_name=lm"]
    assert main(["pretrain", str(PRETRAIN), *lm_overrides]) == 0
    lm, _ = load_model(tmp_path / "lm" / "model.pt")
    # lr 0: the classifier's backbone must still hold exactly the language model's weights;
    # the model shape comes from the pretrained file, not from the config's model section
    assert main(["finetune", str(CONFIG), *tiny(tmp_path, f"classifier.pretrained={tmp_path / 'lm' / 'model.pt'}",
                                                "optim.lr=0", "model.d_model=24")]) == 0
    clf, extra = load_model(tmp_path / "species-demo" / "model.pt")
    assert isinstance(clf, MambaClassifier) and clf.config.d_model == 16
    assert extra["run_config"]["model"]["d_model"] == 16
    for name, weight in lm.backbone.state_dict().items():
        assert torch.equal(clf.backbone.state_dict()[name], weight), name


def test_finetune_learns_a_composition_signal(tmp_path):
    """The whole chain (species windows, labels, mean pooling, loss, optimiser) must learn what
    a base count decides: 128-base windows of GC 0.3 against GC 0.6 (a GC count separates them
    with near certainty), where a model that learned nothing scores 0.5."""
    write_composition_species(tmp_path / "data", {"atrich": 0.3, "gcrich": 0.6},
                              train_bases=40_000, val_bases=8_000)
    overrides = [f"data.train_dir={tmp_path / 'data' / 'train'}",
                 f"data.val_dir={tmp_path / 'data' / 'val'}", f"trainer.output_dir={tmp_path}",
                 "trainer.max_steps=60", "trainer.val_every_n_steps=60",
                 "trainer.checkpoint_every_n_steps=60", "trainer.progress_bar=false",
                 "data.seq_len=128", "data.batch_size=16", "data.val_windows_per_species=32",
                 "model.d_model=16", "model.n_layer=1", "model.d_state=4", "optim.lr=3e-3",
                 "optim.warmup_steps=5", "classifier.pooling=mean"]
    assert main(["finetune", str(CONFIG), *overrides]) == 0
    metrics = json.loads((tmp_path / "species-demo" / "metrics.json").read_text())
    assert metrics["chance"] == 0.5 and metrics["val_accuracy"] >= 0.9, metrics


@pytest.mark.parametrize("override,pattern", [
    ("classifier.architecture=transformer", "classifier.architecture must be one of"),
    ("classifier.pooling=last", "classifier.pooling must be one of \\('mean', 'max'\\) for architecture 'bidirectional'"),
])
def test_classifier_config_errors(override, pattern):
    overrides = [override] + (["classifier.architecture=bidirectional"] if "pooling" in override else [])
    with pytest.raises(ConfigFileError, match=pattern):
        load_config(FinetuneDNAConfig, CONFIG, overrides)


def test_user_errors_exit_2(tmp_path, capsys):
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "Aaa.fa").write_text(">a\nACGT\n")
    assert main(["finetune", str(CONFIG), f"data.train_dir={tmp_path / 'only'}",
                 f"trainer.output_dir={tmp_path}"]) == 2
    assert "found 1 species FASTA file(s)" in capsys.readouterr().err
    torch.save({"x": 1}, tmp_path / "junk.pt")
    assert main(["classify", "--checkpoint", str(tmp_path / "junk.pt"), "--fasta", "x.fa"]) == 2
    assert "junk.pt: not a mambaseq model file" in capsys.readouterr().err
