"""Model files: round trip, and a clear error for every kind of wrong file."""
import os

import pytest
import torch

from mambaseq.core import (MambaClassifier, MambaConfig, MambaLM, ModelFileError, load_model,
                           model_payload, save_model)

TINY = MambaConfig(d_model=16, n_layer=1, vocab_size=10, d_state=4)


def test_round_trip_rebuilds_the_model(tmp_path):
    model = MambaLM(TINY).eval()
    path = save_model(model, tmp_path / "sub" / "model.pt", extra={"tokenizer": "dna-char"})
    loaded, extra = load_model(path)
    assert extra == {"tokenizer": "dna-char"} and loaded.config == TINY
    ids = torch.randint(0, 10, (2, 12))
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids), model(ids))


def test_classifier_round_trip_keeps_head_arguments(tmp_path):
    model = MambaClassifier(TINY, num_classes=3, pooling="last")
    loaded, _ = load_model(save_model(model, tmp_path / "c.pt"))
    assert isinstance(loaded, MambaClassifier) and loaded.num_classes == 3 and loaded.pooling == "last"


def test_wrong_files_get_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ModelFileError, match="text.pt: cannot be read"):
        load_model(tmp_path / "text.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="other.pt: not a mambaseq model file"):
        load_model(tmp_path / "other.pt")
    payload = model_payload(MambaLM(TINY))
    torch.save({**payload, "format_version": 99}, tmp_path / "future.pt")
    with pytest.raises(ModelFileError, match="format version 99"):
        load_model(tmp_path / "future.pt")
    torch.save({**payload, "config": {**payload["config"], "d_model": 32}}, tmp_path / "mismatch.pt")
    with pytest.raises(ModelFileError, match="weights do not match"):
        load_model(tmp_path / "mismatch.pt")
    with pytest.raises(ModelFileError, match="holds a MambaLM, expected a MambaClassifier"):
        load_model(save_model(MambaLM(TINY), tmp_path / "lm.pt"), expect=MambaClassifier)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


def test_a_file_never_runs_code(tmp_path):
    torch.save({"format": "mambaseq-model", "evil": _RunsCode()}, tmp_path / "evil.pt")
    with pytest.raises(ModelFileError, match="evil.pt: cannot be read"):
        load_model(tmp_path / "evil.pt")
