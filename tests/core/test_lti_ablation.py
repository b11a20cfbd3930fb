"""The LTI ablation (``MambaConfig.selective=False``): Δ, B and C are learned constants."""
import pytest
import torch
import torch.nn.functional as F

from mambaseq.core import (ConfigError, MambaConfig, MambaLM, MambaMixer, decode_step, load_model,
                           save_model)


def lti_config(**kw) -> MambaConfig:
    return MambaConfig(**{"d_model": 16, "n_layer": 2, "vocab_size": 12, "selective": False, **kw})


def test_lti_selection_does_not_depend_on_the_input_and_selective_does():
    lti, sel = MambaMixer(lti_config()), MambaMixer(lti_config(selective=True))
    assert not hasattr(lti, "x_proj") and hasattr(sel, "x_proj")
    x1, x2 = torch.randn(2, 7, lti.config.d_inner), torch.randn(2, 7, lti.config.d_inner)
    for a, b in zip(lti.selection(x1), lti.selection(x2)):
        assert a.shape[:2] == (2, 7) and torch.equal(a, b)
    dt1, B1, C1 = lti.selection(x1)
    assert torch.equal(B1[0, 0], B1[1, 6]) and torch.equal(C1[0, 0], C1[1, 3])   # over time too
    assert not any(torch.equal(a, b) for a, b in zip(sel.selection(x1), sel.selection(x2)))


def test_lti_initialisation_starts_delta_where_the_selective_model_does():
    mixer = MambaMixer(lti_config())
    dt_code, B, C = mixer.selection(torch.zeros(1, 1, mixer.config.d_inner))
    assert torch.equal(dt_code, torch.zeros_like(dt_code)) and torch.equal(B, torch.ones_like(B))
    delta = F.softplus(mixer._delta(dt_code) + mixer.dt_proj.bias)
    cfg = mixer.config
    assert delta.min() >= cfg.dt_init_floor * 0.99 and delta.max() <= cfg.dt_max * 1.01
    assert C.std() > 0.1


def test_lti_step_decoding_equals_parallel_forward_and_fast_step():
    model = MambaLM(lti_config()).eval()
    ids = torch.randint(0, 12, (2, 24))
    with torch.no_grad():
        parallel = model(ids)
        cache = model.allocate_cache(2)
        stepped = torch.stack([model.step(ids[:, t], cache) for t in range(ids.shape[1])], dim=1)
        fast, cache = decode_step(model), model.allocate_cache(2)
        fast_stepped = torch.stack([fast(ids[:, t], cache) for t in range(ids.shape[1])], dim=1)
    assert (stepped - parallel).abs().max() < 1e-4
    assert (fast_stepped - parallel).abs().max() < 1e-4


def test_lti_model_trains_its_constants_and_round_trips(tmp_path):
    model = MambaLM(lti_config())
    ids = torch.randint(0, 12, (2, 16))
    F.cross_entropy(model(ids).flatten(0, 1), ids.flatten()).backward()
    mixer = model.backbone.layers[0].mixer
    assert mixer.lti_selection.grad is not None and mixer.lti_selection.grad.abs().sum() > 0
    assert any(p is mixer.lti_selection for p in model.backbone.no_weight_decay())
    save_model(model, tmp_path / "m.pt")
    loaded, _ = load_model(tmp_path / "m.pt")
    assert loaded.config.selective is False
    assert torch.equal(loaded(ids), model(ids))


def test_selective_flag_must_be_a_bool():
    with pytest.raises(ConfigError, match="model.selective"):
        lti_config(selective="no")
