"""Caduceus-style reverse-complement equivariance: with the DNA complement map, the
bidirectional classifier predicts the same on both strands (padding included)."""
import pytest
import torch

from mambaseq.biomamba import DNATokenizer
from mambaseq.core import (BidirectionalClassifier, ConfigError, MambaConfig, MambaLM, load_model,
                           save_model)
from mambaseq.core.bidirectional import reverse_valid

TINY = MambaConfig(d_model=16, n_layer=2, vocab_size=10, d_state=4)


def rc_padded(tok: DNATokenizer, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse complement of each row's first lengths[b] tokens, padding kept on the right."""
    out = ids.clone()
    for b, n in enumerate(lengths.tolist()):
        out[b, :n] = tok.reverse_complement(ids[b, :n])
    return out


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_equal_predictions_on_both_strands(pooling):
    tok = DNATokenizer()
    model = BidirectionalClassifier(TINY, 3, pooling, tok.complement_map).eval()
    ids = torch.randint(5, 10, (3, 40))
    lengths = torch.tensor([40, 25, 9])
    ids[1, 25:] = tok.pad_id
    ids[2, 9:] = tok.pad_id
    with torch.no_grad():
        forward = model(ids, lengths)
        reverse = model(rc_padded(tok, ids, lengths), lengths)
        alone = model(ids[1:2, :25])
    torch.testing.assert_close(forward, reverse, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(forward[1:2], alone, rtol=1e-5, atol=1e-6)   # padding ignored
    # the same weights without the complement map are not strand-invariant
    plain = BidirectionalClassifier(TINY, 3, pooling).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert (plain(ids, lengths) - plain(rc_padded(tok, ids, lengths), lengths)).abs().max() > 1e-3


def test_backbone_commutes_with_reversal_and_loads_lm_weights():
    model = BidirectionalClassifier(TINY, 2).eval()
    ids = torch.randint(5, 10, (2, 30))
    lengths = torch.tensor([30, 17])
    with torch.no_grad():
        hidden = model.backbone(ids, lengths)
        flipped = model.backbone(reverse_valid(ids[..., None], lengths)[..., 0], lengths)
    torch.testing.assert_close(reverse_valid(hidden, lengths)[:, :17], flipped[:, :17],
                               rtol=1e-5, atol=1e-6)
    lm = MambaLM(TINY)
    model.backbone.load_state_dict(lm.backbone.state_dict(), strict=True)


def test_save_load_and_bad_involution(tmp_path):
    tok = DNATokenizer()
    model = BidirectionalClassifier(TINY, 4, "mean", tok.complement_map).eval()
    save_model(model, tmp_path / "m.pt")
    loaded, _ = load_model(tmp_path / "m.pt")
    ids = torch.randint(5, 10, (2, 12))
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids), model(ids))
    assert loaded.model_kwargs()["token_involution"] == tok.complement_map
    with pytest.raises(ConfigError, match="its own inverse"):
        BidirectionalClassifier(TINY, 4, "mean", [1, 2, 0] + list(range(3, 10)))
    with pytest.raises(ConfigError, match="pooling of a bidirectional classifier"):
        BidirectionalClassifier(TINY, 4, "last")
