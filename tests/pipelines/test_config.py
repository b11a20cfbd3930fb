"""Config loading: every mistake is an error naming the file or override and the key."""
import pytest

from mambaseq.pipelines.config import ConfigFileError, load_config
from mambaseq.pipelines.domains import PretrainDNAConfig


def write(tmp_path, text):
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def test_valid_config_and_overrides(tmp_path):
    path = write(tmp_path, "model:\n  d_model: 48\ndata:\n  fasta: x.fa\n")
    cfg, resolved = load_config(PretrainDNAConfig, path, ["trainer.max_steps=7", "optim.lr=0.01"])
    assert cfg.model.d_model == 48 and cfg.trainer.max_steps == 7 and cfg.optim.lr == 0.01
    assert resolved.data.fasta == "x.fa" and cfg.model.d_state == 16


@pytest.mark.parametrize("text,overrides,pattern", [
    ("model:\n  d_modle: 48\ndata:\n  fasta: x.fa\n", [], r"job.yaml: key 'model.d_modle'"),
    ("data:\n  fasta: x.fa\n  seq_len: long\n", [], r"job.yaml: key 'data.seq_len'"),
    ("data:\n  fasta: x.fa\n", ["trainer.max_step=5"], r"override 'trainer.max_step=5': key 'trainer.max_step'"),
    ("data:\n  fasta: x.fa\n", ["trainer.max_steps"], r"expected key=value"),
    ("model:\n  d_model: 8\n", [], r"required key\(s\) not set: data.fasta"),
    ("data:\n  fasta: x.fa\nmodel:\n  d_model: -3\n", [], r"job.yaml: model.d_model must be a positive integer"),
    ("data: [unclosed\n", [], r"job.yaml: cannot parse YAML"),
    ("data:\n  fasta: x.fa\n  seq_len_warmup:\n    start_len: 16\n    steps_per_stage: 2\n    stages: 3\n",
     [], r"job.yaml: key 'data.seq_len_warmup.stages'"),
    ("data:\n  fasta: x.fa\n", ["trainer.strategy=horovod"], r"job.yaml: trainer.strategy must be one of auto, ddp"),
    ("data:\n  fasta: x.fa\n", ["trainer.num_nodes=0"], r"job.yaml: trainer.num_nodes must be >= 1"),
    ("data:\n  fasta: x.fa\n", ["trainer.strategy=ddp_spawn"], r"job.yaml: trainer.strategy 'ddp_spawn' runs training in child"),
    ("data:\n  fasta: x.fa\n", ["trainer.activation_checkpoint=true"], r"key 'trainer.activation_checkpoint'"),
])
def test_errors_name_file_and_key(tmp_path, text, overrides, pattern):
    with pytest.raises(ConfigFileError, match=pattern):
        load_config(PretrainDNAConfig, write(tmp_path, text), overrides)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigFileError, match="no such config file"):
        load_config(PretrainDNAConfig, tmp_path / "nope.yaml")
