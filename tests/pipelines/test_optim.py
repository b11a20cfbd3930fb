"""The shared optimiser: warm-up then cosine, and weight decay kept off the no-decay set."""
import pytest
import torch

from mambaseq.core import MambaConfig, MambaLM
from mambaseq.pipelines.training.optim import adamw_warmup_cosine, warmup_cosine

OPT = dict(lr=1e-3, weight_decay=0.1, betas=[0.9, 0.95], warmup_steps=10, min_lr_ratio=0.1)


def test_warmup_then_cosine():
    assert warmup_cosine(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(55, 10, 100, 0.1) == pytest.approx(0.55)       # half way down
    assert warmup_cosine(100, 10, 100, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(500, 10, 100, 0.1) == pytest.approx(0.1)


def test_no_decay_parameters_get_no_weight_decay():
    model = MambaLM(MambaConfig(d_model=16, n_layer=2, vocab_size=10, d_state=4))
    no_decay = model.backbone.no_weight_decay()
    setup = adamw_warmup_cosine(model, no_decay, OPT, max_steps=100)
    decayed, plain = setup["optimizer"].param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert {id(p) for p in plain["params"]} == {id(p) for p in no_decay}
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))
    scheduler = setup["lr_scheduler"]["scheduler"]
    assert setup["optimizer"].param_groups[0]["lr"] == pytest.approx(1e-4)   # step 0 of warm-up
    for _ in range(9):
        setup["optimizer"].step()
        scheduler.step()
    assert setup["optimizer"].param_groups[0]["lr"] == pytest.approx(1e-3)
