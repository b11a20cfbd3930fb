"""The SaShiMi-style U-Net: causal, step decoding and chunked prefill equal the parallel
forward, works with core.generate, round-trips through core's model files."""
import copy

import pytest
import torch

from mambaseq.audiomamba import SaShiMiLM
from mambaseq.core import (ConfigError, MambaConfig, StepRunner, decode_step, generate,
                           graph_period, load_model, prefill, save_model)

TINY = dict(d_model=16, n_layer=1, vocab_size=256, d_state=4)


def tiny(pool=(4, 4)) -> SaShiMiLM:
    return SaShiMiLM(MambaConfig(**TINY), pool=list(pool)).eval()


@pytest.mark.parametrize("t", [5, 15, 16, 37])
def test_output_at_t_ignores_inputs_after_t(t):
    model = tiny()
    ids = torch.randint(0, 256, (2, 64))
    changed = ids.clone()
    changed[:, t:] = torch.randint(0, 256, (2, 64 - t))
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert torch.equal(a[:, :t], b[:, :t])            # the logits predicting sample t+1..
    assert not torch.allclose(a[:, t:], b[:, t:])


def test_step_decoding_equals_parallel_forward():
    model = tiny()
    ids = torch.randint(0, 256, (2, 70))                 # not a multiple of 16: padded inside
    with torch.no_grad():
        parallel = model(ids)
        cache = model.allocate_cache(2)
        stepped = torch.stack([model.step(ids[:, t], cache) for t in range(70)], dim=1)
    assert cache.seqlen_offset == 70 and cache.top.position == 70
    assert cache.top.inner.position == 70 // 4 and cache.top.inner.pooled.shape == (2, 4, 32)
    torch.testing.assert_close(stepped, parallel, rtol=1e-4, atol=1e-5)


def test_chunked_prefill_then_step_equals_parallel_forward():
    model = tiny(pool=(2, 3))
    ids = torch.randint(0, 256, (3, 50))
    with torch.no_grad():
        parallel = model(ids)
        cache = model.allocate_cache(3)
        parts = [model(ids[:, :7], cache), model(ids[:, 7:8], cache), model(ids[:, 8:29], cache)]
        parts += [model.step(ids[:, t], cache)[:, None] for t in range(29, 50)]
    torch.testing.assert_close(torch.cat(parts, 1), parallel, rtol=1e-4, atol=1e-5)


def test_bf16_state_cache_follows_the_parallel_forward():
    """state_dtype reaches every level's mixers; prefill and steps with bf16 scan states stay
    within bf16 rounding of the parallel forward."""
    model = tiny(pool=(2, 3))
    ids = torch.randint(0, 256, (2, 40))
    with torch.no_grad():
        parallel = model(ids)
        cache = model.allocate_cache(2, state_dtype=torch.bfloat16)
        parts = [model(ids[:, :13], cache)]
        parts += [model.step(ids[:, t], cache)[:, None] for t in range(13, 40)]
    states = [cache.top.down, cache.top.up, cache.top.inner.down, cache.top.inner.up,
              cache.top.inner.inner]
    assert {mixer.ssm.dtype for level in states for mixer in level} == {torch.bfloat16}
    torch.testing.assert_close(torch.cat(parts, 1), parallel, rtol=2e-2, atol=2e-2)


def test_step_with_constants_computed_once_equals_plain_step():
    model = tiny(pool=(2, 4))
    ids = torch.randint(0, 256, (2, 24))
    fast = decode_step(model)
    assert fast is not model.step and graph_period(model) == 8
    with torch.no_grad():
        plain_cache, fast_cache = model.allocate_cache(2), model.allocate_cache(2)
        for t in range(24):
            assert torch.equal(fast(ids[:, t], fast_cache), model.step(ids[:, t], plain_cache))


@pytest.mark.gpu
def test_graphed_step_equals_eager_step_on_cuda():
    # one graph per phase of the 16-sample period: 40 replays cross every phase twice
    model = tiny().cuda()
    cache = model.allocate_cache(3)
    with torch.no_grad():
        prefill(model, torch.randint(0, 256, (3, 21), device="cuda"), cache)
        eager_cache = copy.deepcopy(cache)
        runner = StepRunner(decode_step(model), cache, graph_period(model))
        for token in torch.randint(0, 256, (56, 3), device="cuda"):
            torch.testing.assert_close(runner(token), model.step(token, eager_cache),
                                       rtol=1e-5, atol=1e-5)
        assert runner.captured and len(runner.graphs) == 16
    torch.testing.assert_close(cache.top.inner.unpooled, eager_cache.top.inner.unpooled,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
def test_generate_greedy_matches_parallel_argmax_on_cuda():
    model = tiny().cuda()
    prompt = torch.randint(0, 256, (2, 9), device="cuda")
    out = generate(model, prompt, 60, temperature=0)
    with torch.no_grad():
        logits = model(out[:, :-1])
    assert torch.equal(logits[:, 8:].argmax(-1), out[:, 9:])


def test_generate_greedy_matches_parallel_argmax():
    model = tiny()
    prompt = torch.randint(0, 256, (2, 9))
    out = generate(model, prompt, 40, temperature=0)
    with torch.no_grad():
        logits = model(out[:, :-1])
    assert torch.equal(logits[:, 8:].argmax(-1), out[:, 9:])
    assert torch.equal(generate(model, prompt, 20, seed=4), generate(model, prompt, 20, seed=4))


def test_gradients_reach_every_parameter_and_model_file_round_trip(tmp_path):
    model = SaShiMiLM(MambaConfig(**TINY), pool=[4, 2], expand=3).train()
    model(torch.randint(0, 256, (2, 40))).logsumexp(-1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing
    assert model.lm_head.weight is model.embedding.weight
    save_model(model, tmp_path / "m.pt")
    loaded, _ = load_model(tmp_path / "m.pt", expect=SaShiMiLM)
    assert loaded.pool == [4, 2] and loaded.expand == 3
    ids = torch.randint(0, 256, (1, 33))
    torch.testing.assert_close(loaded(ids), model.eval()(ids))


def test_paper_sizes_and_bad_arguments():
    small = SaShiMiLM(MambaConfig(d_model=64, n_layer=8, vocab_size=256))
    assert 6.0e6 < sum(p.numel() for p in small.parameters()) < 6.5e6    # paper: 6.1M
    with pytest.raises(ConfigError, match="backbone.pool"):
        SaShiMiLM(MambaConfig(**TINY), pool=[4, 1])
    with pytest.raises(ConfigError, match="backbone.expand"):
        SaShiMiLM(MambaConfig(**TINY), expand=0)
