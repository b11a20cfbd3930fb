"""SaShiMi-style sample metrics (FID, IS, mIS, AM) and the SC09 digit classifier, saved as a
model file like every other model."""
import numpy as np
import pytest
import torch
from scipy import linalg

from mambaseq.audiomamba import (DigitClassifier, am_score, fid, inception_score,
                                 load_classifier, modified_inception_score)
from mambaseq.core import MambaConfig, MambaLM, ModelFileError, save_model


def test_fid_matches_the_scipy_formula():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(300, 6, generator=g, dtype=torch.float64)
    b = torch.randn(200, 6, generator=g, dtype=torch.float64) @ torch.rand(6, 6, generator=g, dtype=torch.float64) + 0.5
    sa, sb = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    root = linalg.sqrtm(sa @ sb).real
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum().item() + np.trace(sa + sb - 2 * root)
    assert fid(a, b) == pytest.approx(expected, rel=1e-6)
    assert fid(a, a) == pytest.approx(0, abs=1e-8)
    assert fid(a, a + 2) == pytest.approx(6 * 4, rel=1e-6)


def test_inception_scores_and_am():
    onehot = torch.eye(10).repeat(20, 1)                     # 200 confident, balanced clips
    assert inception_score(onehot) == pytest.approx(10, rel=0.05)
    collapsed = torch.eye(10)[[3] * 200]
    assert inception_score(collapsed) == pytest.approx(1)
    assert modified_inception_score(collapsed) == pytest.approx(1)
    soft = 0.9 * torch.eye(10).repeat(20, 1) + 0.01
    assert modified_inception_score(soft) > 5                # confident and diverse
    assert am_score(onehot, onehot) == pytest.approx(0, abs=1e-6)
    assert am_score(onehot, collapsed) > 10                  # marginal mismatch


def test_classifier_shapes_and_file(tmp_path):
    model = DigitClassifier().eval()
    waves = torch.randn(3, 16000) * 0.1
    with torch.no_grad():
        assert model(waves).shape == (3, 10) and model.features(waves).shape == (3, 128)
    assert sum(p.numel() for p in model.parameters()) < 300_000
    save_model(model, tmp_path / "c.pt", extra={"metrics": {"test_accuracy": 0.5}})
    loaded, extra = load_classifier(tmp_path / "c.pt")
    with torch.no_grad():
        torch.testing.assert_close(loaded(waves), model(waves))
    assert extra["metrics"]["test_accuracy"] == 0.5
    torch.save({"x": 1}, tmp_path / "junk.pt")
    with pytest.raises(ModelFileError, match="junk.pt: not a mambaseq model file"):
        load_classifier(tmp_path / "junk.pt")
    save_model(MambaLM(MambaConfig(d_model=8, n_layer=1, vocab_size=4)), tmp_path / "lm.pt")
    with pytest.raises(ModelFileError, match="lm.pt: holds a MambaLM, expected a DigitClassifier"):
        load_classifier(tmp_path / "lm.pt")
