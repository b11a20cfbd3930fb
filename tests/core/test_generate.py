"""The generation fast path: greedy generation equals the parallel forward's argmax, the
precomputed-constants step equals ``MambaLM.step``, CUDA-graph replay equals eager steps,
per-sequence stop, chunked prefill."""
import copy
from dataclasses import dataclass

import pytest
import torch

from mambaseq.core import (MambaConfig, MambaLM, StepRunner, decode_step, generate, graph_period,
                           prefill)

TINY = dict(d_model=32, n_layer=2, vocab_size=10, d_state=8)
CUDA = pytest.param("cuda", marks=pytest.mark.gpu)


def greedy_continuation_matches(model: MambaLM, out: torch.Tensor, prompt_length: int) -> None:
    """Every generated token is the argmax of the parallel forward over the tokens before it."""
    with torch.no_grad():
        logits = model(out[:, :-1])
    torch.testing.assert_close(logits[:, prompt_length - 1:].argmax(-1), out[:, prompt_length:],
                               rtol=0, atol=0)


@pytest.mark.parametrize("prompt_length,prefill_tokens", [(1, 65536), (9, 65536), (9, 6)])
def test_greedy_generation_equals_parallel_argmax(prompt_length, prefill_tokens):
    model = MambaLM(MambaConfig(**TINY))
    prompt = torch.randint(0, 10, (3, prompt_length))
    out = generate(model, prompt, 40, temperature=0, prefill_tokens=prefill_tokens)
    assert out.shape == (3, prompt_length + 40) and torch.equal(out[:, :prompt_length], prompt)
    assert model.training                       # mode restored
    greedy_continuation_matches(model.eval(), out, prompt_length)


def test_chunked_prefill_equals_one_pass():
    model = MambaLM(MambaConfig(**TINY)).eval()
    ids = torch.randint(0, 10, (2, 37))
    whole, chunked = model.allocate_cache(2), model.allocate_cache(2)
    with torch.no_grad():
        prefill(model, ids, whole)
        prefill(model, ids, chunked, max_tokens=10)     # chunks of 5 tokens per row
    assert whole.seqlen_offset == chunked.seqlen_offset == 37
    for a, b in zip(whole.layers, chunked.layers):
        torch.testing.assert_close(a.conv, b.conv)
        torch.testing.assert_close(a.ssm, b.ssm, rtol=1e-5, atol=1e-6)


def test_mamba_decode_step_equals_model_step():
    model = MambaLM(MambaConfig(**TINY)).eval()
    fast = decode_step(model)
    assert fast is not model.step and graph_period(model) == 1
    cache = model.allocate_cache(2)
    with torch.no_grad():
        prefill(model, torch.randint(0, 10, (2, 12)), cache)
        other = copy.deepcopy(cache)
        for token in torch.randint(0, 10, (8, 2)):
            assert torch.equal(fast(token, cache), model.step(token, other))
    assert cache.seqlen_offset == other.seqlen_offset == 20
    for a, b in zip(cache.layers, other.layers):
        assert torch.equal(a.conv, b.conv) and torch.equal(a.ssm, b.ssm)


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_bf16_state_cache_follows_the_float32_one(device):
    """A bfloat16 scan state stays bfloat16 through prefill and steps, and its logits follow
    the float32 state's within bf16 rounding (not equal: the state really is rounded)."""
    torch.manual_seed(0)
    model = MambaLM(MambaConfig(**TINY)).to(device).eval()
    prompt = torch.randint(0, 10, (3, 25), device=device)
    exact, rounded = model.allocate_cache(3), model.allocate_cache(3, state_dtype=torch.bfloat16)
    with torch.no_grad():
        prefill(model, prompt, exact)
        prefill(model, prompt, rounded)
        step = decode_step(model)
        for token in torch.randint(0, 10, (16, 3), device=device):
            want, got = step(token, exact), step(token, rounded)
            torch.testing.assert_close(got, want, rtol=2e-2, atol=2e-2)
    assert all(layer.ssm.dtype == torch.bfloat16 for layer in rounded.layers)
    assert not torch.equal(got, want)
    with pytest.raises(ValueError, match="state_dtype"):
        model.allocate_cache(1, state_dtype=torch.float16)


def test_generate_passes_state_dtype_to_the_cache(monkeypatch):
    model = MambaLM(MambaConfig(**TINY))
    made = []
    allocate = model.allocate_cache
    monkeypatch.setattr(model, "allocate_cache",
                        lambda *a, **k: made.append(allocate(*a, **k)) or made[-1])
    out = generate(model, torch.randint(0, 10, (2, 5)), 6, temperature=0,
                   state_dtype=torch.bfloat16)
    assert out.shape == (2, 11)
    assert [layer.ssm.dtype for layer in made[0].layers] == [torch.bfloat16] * 2
    with pytest.raises(ValueError, match="CountingLM.allocate_cache takes no state_dtype"):
        generate(CountingLM(), torch.zeros(1, 2, dtype=torch.long), 3,
                 state_dtype=torch.bfloat16)


def test_generate_edge_cases():
    model = MambaLM(MambaConfig(**TINY))
    prompt = torch.randint(0, 10, (2, 4))
    assert torch.equal(generate(model, prompt, 0), prompt)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, prompt, -1)


@dataclass
class CountCache:
    last: torch.Tensor          # (batch,) int64: the last token read
    seqlen_offset: int = 0


class CountingLM(torch.nn.Module):
    """A model that always predicts (last token + 1) mod 8, with the LM interface."""

    vocab = 8
    decode_graph_period = 1

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("anchor", torch.zeros(()))

    def _logits(self, ids: torch.Tensor) -> torch.Tensor:
        target = ((ids + 1) % self.vocab).unsqueeze(-1)
        return torch.zeros(*ids.shape, self.vocab, device=ids.device).scatter_(-1, target, 1.0)

    def allocate_cache(self, batch_size, dtype=None, device=None) -> CountCache:
        return CountCache(torch.zeros(batch_size, dtype=torch.long, device=self.anchor.device))

    def forward(self, ids: torch.Tensor, cache: CountCache) -> torch.Tensor:
        cache.last = ids[:, -1].clone()
        cache.seqlen_offset += ids.shape[1]
        return self._logits(ids)

    def step(self, ids: torch.Tensor, cache: CountCache) -> torch.Tensor:
        cache.last.copy_(ids)
        cache.seqlen_offset += 1
        return self._logits(ids)


@pytest.mark.parametrize("device", ["cpu", CUDA])
@pytest.mark.parametrize("pad_id", [None, 0])
def test_per_sequence_stop(device, pad_id):
    model = CountingLM().to(device)
    prompt = torch.tensor([[1, 3], [2, 0], [0, 6]], device=device)
    calls = []
    out = generate(model, prompt, 50, temperature=0, eos_id=5, pad_id=pad_id,
                   on_token=calls.append)
    pad = 5 if pad_id is None else pad_id
    expected = torch.tensor([[1, 3, 4, 5, pad, pad, pad, pad, pad],
                             [2, 0, 1, 2, 3, 4, 5, pad, pad],
                             [0, 6, 7, 0, 1, 2, 3, 4, 5]])
    assert torch.equal(out.cpu(), expected)
    # the loop ends once all have stopped (the GPU checks every STOP_CHECK_INTERVAL tokens)
    assert len(calls) == (7 if device == "cpu" else 16)


def test_without_stop_every_sequence_runs_to_the_end():
    out = generate(CountingLM(), torch.tensor([[4], [1]]), 6, temperature=0)
    assert torch.equal(out, torch.tensor([[4, 5, 6, 7, 0, 1, 2], [1, 2, 3, 4, 5, 6, 7]]))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_graphed_step_equals_eager_step(dtype):
    model = MambaLM(MambaConfig(**TINY)).to("cuda", dtype).eval()
    cache = model.allocate_cache(3)
    with torch.no_grad():
        prefill(model, torch.randint(0, 10, (3, 50), device="cuda"), cache)
        eager_cache = copy.deepcopy(cache)
        tokens = torch.randint(0, 10, (12, 3), device="cuda")
        runner = StepRunner(decode_step(model), cache)
        for token in tokens:
            torch.testing.assert_close(runner(token), model.step(token, eager_cache),
                                       rtol=1e-5, atol=1e-5)
        assert runner.captured
    assert cache.seqlen_offset == eager_cache.seqlen_offset == 62
    for a, b in zip(cache.layers, eager_cache.layers):
        torch.testing.assert_close(a.ssm, b.ssm, rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.parametrize("batch", [16, 64])
def test_graphed_steps_with_pdl_equal_plain_launches(monkeypatch, batch):
    """Programmatic dependent launch (``kernels.triton_pdl``) overlaps launches only: graphed
    steps with it give the same bits as eager steps without it. d_model 1024 sends in_proj
    to triton_linear; 16 rows take the fused state kernel and wait only, 64 the Δ product,
    then the one-row kernel, in many waves of programs, and trigger the next launch early."""
    from mambaseq.kernels.triton_pdl import pdl_launch
    model = MambaLM(MambaConfig(d_model=1024, n_layer=4, vocab_size=64)).to("cuda",
                                                                           torch.bfloat16).eval()
    cache = model.allocate_cache(batch)
    if not pdl_launch(cache.layers[0].ssm):
        pytest.skip("programmatic dependent launch needs compute capability 9.0+")
    with torch.no_grad():
        prefill(model, torch.randint(0, 64, (batch, 40), device="cuda"), cache)
        plain_cache = copy.deepcopy(cache)
        runner = StepRunner(decode_step(model), cache)
        tokens = torch.randint(0, 64, (10, batch), device="cuda")
        with_pdl = [runner(token).clone() for token in tokens]
        assert runner.captured
        monkeypatch.setenv("MAMBASEQ_PDL", "0")
        step = decode_step(model)
        for token, got in zip(tokens, with_pdl):
            assert torch.equal(got, step(token, plain_cache))
    for a, b in zip(cache.layers, plain_cache.layers):
        assert torch.equal(a.ssm, b.ssm) and torch.equal(a.conv, b.conv)


@pytest.mark.gpu
def test_greedy_generation_equals_parallel_argmax_on_cuda():
    model = MambaLM(MambaConfig(**TINY)).cuda()
    prompt = torch.randint(0, 10, (4, 33), device="cuda")
    out = generate(model, prompt, 40, temperature=0)
    greedy_continuation_matches(model.eval(), out, 33)


@dataclass
class ParityCache:
    value: torch.Tensor         # (batch,) float32
    seqlen_offset: int = 0


class ParityLM(torch.nn.Module):
    """A step whose Python control flow depends on the position's parity (like a multi-rate
    backbone): even positions add the token, odd ones triple the value."""

    decode_graph_period = 2

    def step(self, ids: torch.Tensor, cache: ParityCache) -> torch.Tensor:
        if cache.seqlen_offset % 2 == 0:
            cache.value.add_(ids)
        else:
            cache.value.mul_(3)
        cache.seqlen_offset += 1
        return cache.value[:, None] * torch.arange(4.0, device=ids.device)


@pytest.mark.gpu
@pytest.mark.parametrize("period", [2, None])
def test_graphs_follow_the_step_period(period):
    model = ParityLM()
    cache = ParityCache(torch.zeros(2, device="cuda"), seqlen_offset=5)
    eager_cache = copy.deepcopy(cache)
    tokens = torch.randint(0, 5, (7, 2), device="cuda")
    runner = StepRunner(model.step, cache, period)
    for token in tokens:
        assert torch.equal(runner(token), model.step(token, eager_cache))
    assert runner.captured == (period is not None) and graph_period(model) == 2
    assert cache.seqlen_offset == 12
