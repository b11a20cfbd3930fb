"""Packed variable-length batches through the models: a row of sequences back to back gives,
for each, the logits, pooled classifications and gradients of running it alone."""
import pytest
import torch

from mambaseq.core import MambaClassifier, MambaConfig, MambaLM
from mambaseq.core.bidirectional import BidirectionalClassifier
from mambaseq.core.packed import reverse_within
from mambaseq.core.pooling import pool
from mambaseq.kernels import cu_seqlens_from_lengths

TINY = dict(d_model=32, n_layer=2, vocab_size=10, d_state=8)
LENGTHS = [1, 5, 1, 17, 2, 9]


def sequences(lengths=LENGTHS):
    return [torch.randint(0, 10, (n,)) for n in lengths]


@pytest.mark.parametrize("selective", [True, False])
def test_packed_lm_equals_each_sequence_alone(selective):
    model = MambaLM(MambaConfig(**TINY, selective=selective))
    seqs = sequences()
    packed = torch.cat(seqs)[None]
    cu = cu_seqlens_from_lengths(LENGTHS)
    logits = model(packed, cu_seqlens=cu)
    alone = torch.cat([model(s[None]) for s in seqs], dim=1)
    torch.testing.assert_close(logits, alone, rtol=1e-5, atol=1e-5)
    # gradients: the same loss through both paths reaches every parameter identically
    weights = torch.randn_like(logits)
    grads = torch.autograd.grad((logits * weights).sum(), list(model.parameters()))
    grads_alone = torch.autograd.grad((alone * weights).sum(), list(model.parameters()))
    for g, h in zip(grads, grads_alone):
        torch.testing.assert_close(g, h, rtol=1e-4, atol=1e-5)


def test_packing_differs_from_plain_concatenation():
    """Without cu_seqlens the later sequences would see the earlier ones: the reset matters."""
    model = MambaLM(MambaConfig(**TINY)).eval()
    packed = torch.cat(sequences())[None]
    with torch.no_grad():
        assert not torch.allclose(model(packed), model(packed, cu_seqlens=cu_seqlens_from_lengths(LENGTHS)))


@pytest.mark.parametrize("pooling", ["mean", "last", "max"])
def test_packed_classifier_equals_each_sequence_alone(pooling):
    model = MambaClassifier(MambaConfig(**TINY), num_classes=3, pooling=pooling).eval()
    seqs = sequences()
    with torch.no_grad():
        packed = model(torch.cat(seqs)[None], cu_seqlens=cu_seqlens_from_lengths(LENGTHS))
        alone = torch.cat([model(s[None]) for s in seqs])
    assert packed.shape == (len(LENGTHS), 3)
    torch.testing.assert_close(packed, alone, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("involution", [None, [0, 1, 2, 3, 4, 8, 7, 6, 5, 9]])
def test_packed_bidirectional_classifier_equals_each_sequence_alone(involution):
    model = BidirectionalClassifier(MambaConfig(**TINY), num_classes=4,
                                    token_involution=involution).eval()
    seqs = sequences()
    with torch.no_grad():
        packed = model(torch.cat(seqs)[None], cu_seqlens=cu_seqlens_from_lengths(LENGTHS))
        alone = torch.cat([model(s[None]) for s in seqs])
    torch.testing.assert_close(packed, alone, rtol=1e-5, atol=1e-5)


def test_reverse_within_and_pooling():
    cu = cu_seqlens_from_lengths([2, 1, 3])
    x = torch.arange(6.0).view(1, 6, 1)
    assert reverse_within(x, cu).flatten().tolist() == [1, 0, 2, 5, 4, 3]
    assert pool(x, "mean", cu_seqlens=cu).flatten().tolist() == [0.5, 2, 4]
    assert pool(x, "last", cu_seqlens=cu).flatten().tolist() == [1, 2, 5]
    assert pool(x, "max", cu_seqlens=cu).flatten().tolist() == [1, 2, 5]


def test_bad_packing_is_refused():
    model = MambaLM(MambaConfig(**TINY))
    with pytest.raises(ValueError, match="end at the packed length"):
        model(torch.randint(0, 10, (1, 8)), cu_seqlens=torch.tensor([0, 3, 7]))
    with pytest.raises(ValueError, match="batch of 1"):
        model(torch.randint(0, 10, (2, 8)), cu_seqlens=torch.tensor([0, 3, 8]))
    with pytest.raises(ValueError, match="cannot continue a state"):
        model(torch.randint(0, 10, (1, 8)), model.allocate_cache(1), cu_seqlens=torch.tensor([0, 8]))


def test_bf16_autocast_keeps_state_residual_and_delta_in_float32(monkeypatch):
    """Under bf16 mixed precision the numerically delicate parts stay float32: Δ and A going
    into the scan, the scan's state, and the residual stream between blocks."""
    import mambaseq.core.mixer
    seen = {}
    real_scan = mambaseq.core.mixer.selective_scan

    def recording_scan(u, delta, A, *args, **kwargs):
        out = real_scan(u, delta, A, *args, **kwargs)
        seen.update(u=u.dtype, delta=delta.dtype, A=A.dtype)
        return out

    monkeypatch.setattr(mambaseq.core.mixer, "selective_scan", recording_scan)
    model = MambaLM(MambaConfig(**TINY))
    block = model.backbone.layers[1]
    residuals = []
    block.register_forward_hook(lambda mod, args, out: residuals.append(out[1].dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cache = model.allocate_cache(2, dtype=torch.bfloat16)
        logits = model(torch.randint(0, 10, (2, 12)), cache)
    assert seen == dict(u=torch.bfloat16, delta=torch.float32, A=torch.float32)
    assert residuals == [torch.float32]
    assert all(state.ssm.dtype == torch.float32 for state in cache.layers)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert torch.isfinite(logits.float()).all()
