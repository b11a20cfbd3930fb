"""The jobs with the Mamba ecosystem's model directories: ``mambaseq export`` to a directory
transformers loads to the same logits, fine-tuning a DNA classifier from a Hugging Face
directory (``classifier.pretrained=DIR``), pretraining from one (``model.init_from``), and
generate / evaluate on directories, with one-line errors for what does not fit."""
import json
from pathlib import Path

import pytest
import torch

from mambaseq.core import MambaClassifier, load_model
from mambaseq.pipelines.cli import main
from tests.bundled import APES_DEMO as APES, DNA_FASTA as BUNDLED, REPO

transformers = pytest.importorskip("transformers")

PRETRAIN = REPO / "configs" / "dna" / "demo.yaml"
SPECIES = REPO / "configs" / "dna" / "species_demo.yaml"
SHAPE = ["model.d_model=16", "model.n_layer=1", "model.d_state=4"]


def trainer(out: Path, name: str) -> list[str]:
    return [f"trainer.output_dir={out}", f"trainer.run_name={name}", "trainer.max_steps=2",
            "trainer.val_every_n_steps=2", "trainer.checkpoint_every_n_steps=2",
            "trainer.progress_bar=false", "optim.warmup_steps=1"]


def pretrain_args(out: Path, name: str, *extra: str) -> list[str]:
    return ["pretrain", str(PRETRAIN), f"data.fasta={BUNDLED}", "data.seq_len=32",
            "data.batch_size=2", "data.max_val_windows=2", *SHAPE, *trainer(out, name), *extra]


def hf_dna_dir(directory: Path, vocab_size: int = 10) -> Path:
    """A tiny transformers MambaForCausalLM over the DNA tokenizer's 10 tokens (or not),
    saved with save_pretrained: a model from elsewhere, with no mambaseq metadata."""
    torch.manual_seed(0)
    config = transformers.MambaConfig(vocab_size=vocab_size, hidden_size=16, state_size=4,
                                      num_hidden_layers=1)
    transformers.MambaForCausalLM(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    assert main(pretrain_args(out, "lm")) == 0
    return out / "lm"


def test_export_hf_loads_in_transformers_and_back_here(lm_run, tmp_path, capsys):
    out = tmp_path / "hf"
    assert main(["export", "--checkpoint", str(lm_run / "model.pt"), "--format", "hf",
                 "--out", str(out)]) == 0
    assert "MambaForCausalLM.from_pretrained" in capsys.readouterr().out
    ours, _ = load_model(lm_run / "model.pt")
    theirs = transformers.MambaForCausalLM.from_pretrained(out).eval()
    ids = torch.randint(5, 10, (2, 40))
    with torch.no_grad():
        difference = (theirs(ids).logits[..., :10] - ours(ids)).abs().max().item()
    assert difference < 1e-4
    # mambaseq.json carries the tokenizer and run config: the directory samples and scores
    assert main(["generate", "--checkpoint", str(out), "--num-tokens", "5"]) == 0
    assert capsys.readouterr().out.startswith(">sample_0")
    assert main(["evaluate", "--checkpoint", str(out), "--split", "validation",
                 "--max-windows", "2", "--output", str(tmp_path / "eval.csv")]) == 0
    assert "bits_per_base" in capsys.readouterr().out
    assert main(["export", "--checkpoint", str(lm_run / "model.pt"), "--format", "mamba_ssm",
                 "--out", str(tmp_path / "ssm")]) == 0
    again, _ = load_model(tmp_path / "ssm")
    with torch.no_grad():
        assert torch.equal(again(ids), ours(ids))
    assert main(["export", "--checkpoint", str(lm_run / "model.pt"), "--format", "hf",
                 "--out", str(out)]) == 2
    assert "exists and is not an empty directory" in capsys.readouterr().err


def test_dna_classifier_finetunes_from_an_hf_directory(tmp_path, capsys):
    source = hf_dna_dir(tmp_path / "hf")
    lm, _ = load_model(source)
    args = ["finetune", str(SPECIES), f"data.train_dir={APES / 'train'}",
            f"data.val_dir={APES / 'val'}", "data.seq_len=48", "data.batch_size=4",
            "data.val_windows_per_species=2", f"classifier.pretrained={source}", "optim.lr=0",
            *trainer(tmp_path, "species")]
    assert main(args) == 0
    clf, _ = load_model(tmp_path / "species" / "model.pt")
    assert isinstance(clf, MambaClassifier) and clf.config == lm.config
    for name, weight in lm.backbone.state_dict().items():      # lr 0: the HF weights, as read
        assert torch.equal(clf.backbone.state_dict()[name], weight), name
    # and the classifier exports its backbone, saying what was left out
    assert main(["export", "--checkpoint", str(tmp_path / "species" / "model.pt"),
                 "--format", "hf", "--out", str(tmp_path / "backbone")]) == 0
    assert "left out: the classification head" in capsys.readouterr().out
    metadata = json.loads((tmp_path / "backbone" / "mambaseq.json").read_text())
    assert metadata["extra"]["tokenizer"] == "dna-char" and "run_config" not in metadata["extra"]


def test_pretraining_starts_from_init_from(tmp_path, capsys):
    source = hf_dna_dir(tmp_path / "hf")
    lm, _ = load_model(source)
    assert main(pretrain_args(tmp_path, "from-hf", f"model.init_from={source}", "optim.lr=0",
                              "model.pad_vocab_multiple=1")) == 0
    trained, extra = load_model(tmp_path / "from-hf" / "model.pt")
    assert extra["run_config"]["model"]["init_from"] == str(source)
    for name, weight in lm.state_dict().items():
        assert torch.equal(trained.state_dict()[name], weight), name
    assert main(pretrain_args(tmp_path, "wrong", f"model.init_from={source}")) == 2
    assert ("its model differs from the config's: the padded vocabulary "
            "(model.pad_vocab_multiple) is 16 in the config, 10 there") in capsys.readouterr().err


def test_directories_from_elsewhere_generate_and_evaluate_or_say_why_not(tmp_path, capsys):
    source = hf_dna_dir(tmp_path / "dna")
    assert main(["generate", "--checkpoint", str(source), "--num-tokens", "5"]) == 0
    assert main(["evaluate", "--checkpoint", str(source), "--fasta", str(BUNDLED),
                 "--max-windows", "1", "--output", str(tmp_path / "e.csv")]) == 0
    assert main(["evaluate", "--checkpoint", str(source)]) == 2
    assert "no training data config; give --fasta FILE" in capsys.readouterr().err
    other = hf_dna_dir(tmp_path / "words", vocab_size=32)
    assert main(["generate", "--checkpoint", str(other)]) == 2
    assert "a model of 32 tokens; mambaseq's DNA tokenizer (dna-char) has 10" in \
        capsys.readouterr().err
    (tmp_path / "words" / "config.json").write_text(json.dumps({"model_type": "mamba2"}))
    assert main(["finetune", str(SPECIES), f"classifier.pretrained={other}"]) == 2
    assert "Mamba-2 layers (model_type 'mamba2') cannot be represented" in \
        capsys.readouterr().err
