"""Mamba models: initialisation, recurrent decoding equal to the parallel forward, causality,
classifier pooling, generation, config validation."""
import math

import pytest
import torch

from mambaseq.core import (ConfigError, MambaClassifier, MambaConfig, MambaLM, filter_logits,
                           generate)

TINY = dict(d_model=32, n_layer=2, vocab_size=10, d_state=8)


def test_initialisation_follows_the_paper():
    cfg = MambaConfig(d_model=64, n_layer=4, vocab_size=10)
    model = MambaLM(cfg)
    mixer = model.backbone.layers[0].mixer
    assert cfg.d_inner == 128 and cfg.resolved_dt_rank == 4 and cfg.d_conv == 4
    torch.testing.assert_close(-torch.exp(mixer.A_log[0]), -torch.arange(1, 17.0))
    assert torch.all(mixer.D == 1)
    dt = torch.nn.functional.softplus(mixer.dt_proj.bias)
    assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 1e-1 * 1.001
    # log-uniform: the median is near the geometric mean of 1e-3 and 1e-1
    assert 3e-3 < dt.median() < 3e-2
    fan_in_bound = 1 / math.sqrt(cfg.d_inner)                 # kaiming_uniform(a=sqrt(5))
    assert mixer.out_proj.weight.abs().max() <= fan_in_bound / math.sqrt(cfg.n_layer) + 1e-6
    assert model.lm_head.weight is model.backbone.embedding.weight
    assert model.backbone.embedding.weight.shape[0] == 16     # padded to a multiple of 8


def test_step_decoding_equals_parallel_forward():
    model = MambaLM(MambaConfig(**TINY)).eval()
    ids = torch.randint(0, 10, (2, 1000))
    with torch.no_grad():
        parallel = model(ids)
        cache = model.allocate_cache(2)
        stepped = torch.stack([model.step(ids[:, t], cache) for t in range(ids.shape[1])], dim=1)
    assert cache.seqlen_offset == 1000
    assert (stepped - parallel).abs().max() < 1e-4


def test_prefill_then_step_equals_parallel_forward():
    model = MambaLM(MambaConfig(**TINY)).eval()
    ids = torch.randint(0, 10, (3, 60))
    with torch.no_grad():
        parallel = model(ids)
        cache = model.allocate_cache(3)
        first = model(ids[:, :41], cache)
        rest = torch.stack([model.step(ids[:, t], cache) for t in range(41, 60)], dim=1)
    torch.testing.assert_close(torch.cat([first, rest], 1), parallel, rtol=1e-4, atol=1e-4)


def test_causality():
    model = MambaLM(MambaConfig(**TINY)).eval()
    ids = torch.randint(0, 10, (1, 50))
    changed = ids.clone()
    changed[0, 30] = (ids[0, 30] + 1) % 10
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert torch.equal(a[:, :30], b[:, :30])
    assert not torch.allclose(a[:, 30:], b[:, 30:])


@pytest.mark.parametrize("pooling", ["mean", "last", "max"])
def test_classifier_ignores_padding(pooling):
    model = MambaClassifier(MambaConfig(**TINY), num_classes=4, pooling=pooling).eval()
    ids = torch.randint(5, 10, (1, 20))
    padded = torch.cat([ids, torch.zeros(1, 7, dtype=torch.long)], 1)
    with torch.no_grad():
        alone = model(ids)
        with_pad = model(padded, lengths=torch.tensor([20]))
    assert alone.shape == (1, 4)
    torch.testing.assert_close(alone, with_pad)


def test_gradients_reach_every_parameter():
    model = MambaLM(MambaConfig(**TINY))
    logits = model(torch.randint(0, 10, (2, 33)))
    logits.logsumexp(-1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_generate_is_reproducible_and_greedy_is_argmax():
    model = MambaLM(MambaConfig(**TINY)).eval()
    prompt = torch.randint(5, 10, (2, 5))
    a = generate(model, prompt, 20, seed=7)
    b = generate(model, prompt, 20, seed=7)
    assert a.shape == (2, 25) and torch.equal(a, b) and torch.equal(a[:, :5], prompt)
    only_bases = generate(model, prompt, 200, seed=1, suppress_ids=[0, 1, 2, 3, 4])
    assert only_bases.min() >= 5
    greedy = generate(model, prompt, 10, temperature=0)
    with torch.no_grad():
        logits = model(greedy[:, :-1])
    torch.testing.assert_close(logits[:, 4:].argmax(-1), greedy[:, 5:])


def test_filter_logits_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True]]
    assert torch.isinf(filter_logits(logits, top_p=0.7)).tolist() == [[False, False, True, True]]
    assert torch.isinf(filter_logits(logits, top_p=0.85)).tolist() == [[False, False, False, True]]


@pytest.mark.parametrize("field,value", [("d_model", 0), ("n_layer", -1), ("d_state", 2.5),
                                         ("dt_min", 0.0), ("norm_eps", 0.0), ("dt_rank", 0)])
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ConfigError, match=f"model.{field}"):
        MambaConfig(**{field: value})


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="d_modle"):
        MambaConfig.from_dict({"d_modle": 64})
