"""The reference selective scan against the naive per-step recurrence, autograd's numerical
gradients, and the chunked-with-carried-state contract."""
import pytest
import torch

from mambaseq.kernels import selective_scan
from mambaseq.kernels.scan_reference import selective_scan_ref

from .naive import selective_scan_loop

F64 = torch.float64


def make_inputs(batch=2, dim=6, length=37, state=4, groups=None, dtype=F64, requires_grad=False):
    g = torch.Generator().manual_seed(1234)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=F64) * scale).to(dtype).requires_grad_(requires_grad)

    bc_shape = (batch, state, length) if groups is None else (batch, groups, state, length)
    return dict(
        u=rnd(batch, dim, length), delta=rnd(batch, dim, length, scale=0.5),
        A=(-torch.rand(dim, state, generator=g, dtype=F64) * 3).requires_grad_(requires_grad),
        B=rnd(*bc_shape), C=rnd(*bc_shape), D=rnd(dim).detach().to(F64).requires_grad_(requires_grad),
        z=rnd(batch, dim, length),
        delta_bias=rnd(dim).detach().to(F64).requires_grad_(requires_grad),
        initial_state=rnd(batch, dim, state).detach().to(F64).requires_grad_(requires_grad))


@pytest.mark.parametrize("length", [1, 7, 64, 100])
@pytest.mark.parametrize("groups", [None, 1, 3])
@pytest.mark.parametrize("optional", ["all", "none"])
def test_matches_naive_loop(length, groups, optional):
    x = make_inputs(length=length, groups=groups)
    if optional == "none":
        x.update(D=None, z=None, delta_bias=None, initial_state=None)
    for chunk in (1, 5, 64):
        y, h = selective_scan_ref(**x, delta_softplus=True, return_final_state=True, chunk_size=chunk)
        y0, h0 = selective_scan_loop(**x, delta_softplus=True, return_final_state=True)
        torch.testing.assert_close(y, y0, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(h, h0, rtol=1e-12, atol=1e-12)


def test_gradcheck_every_input():
    x = make_inputs(batch=2, dim=3, length=11, state=2, groups=None, requires_grad=True)
    names = list(x)

    def f(*tensors):
        y, h = selective_scan_ref(**dict(zip(names, tensors)), delta_softplus=True,
                                  return_final_state=True, chunk_size=4)
        return y, h

    assert torch.autograd.gradcheck(f, tuple(x.values()))


def test_gradcheck_grouped_B_C():
    x = make_inputs(batch=1, dim=4, length=6, state=2, groups=2, requires_grad=True)
    x.update(z=None, D=None)
    names = [k for k, v in x.items() if v is not None]
    f = lambda *t: selective_scan_ref(**{**x, **dict(zip(names, t))}, delta_softplus=True,
                                      return_final_state=True, chunk_size=4)
    assert torch.autograd.gradcheck(f, tuple(x[k] for k in names))


def test_chunks_with_carried_state_equal_one_call():
    """Cut the sequence into pieces, carry the state: same outputs and same gradients."""
    x = make_inputs(length=50, requires_grad=True)
    y_full, h_full = selective_scan(**x, delta_softplus=True, return_final_state=True)
    loss_full = (y_full ** 2).sum() + h_full.sum()
    grads_full = torch.autograd.grad(loss_full, list(x.values()))

    state, pieces = x["initial_state"], []
    for start, stop in ((0, 13), (13, 14), (14, 50)):
        part = {k: (v[..., start:stop] if k in ("u", "delta", "z", "B", "C") else v) for k, v in x.items()}
        part["initial_state"] = state
        y, state = selective_scan(**part, delta_softplus=True, return_final_state=True)
        pieces.append(y)
    y_cut = torch.cat(pieces, dim=-1)
    torch.testing.assert_close(y_cut, y_full, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state, h_full, rtol=1e-12, atol=1e-12)
    grads_cut = torch.autograd.grad((y_cut ** 2).sum() + state.sum(), list(x.values()))
    for name, a, b in zip(x, grads_cut, grads_full):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f"gradient of {name}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_low_precision_inputs_keep_float32_state(dtype):
    x = make_inputs(length=40, dtype=dtype)
    x["A"], x["D"], x["delta_bias"] = x["A"].float(), x["D"].float(), x["delta_bias"].float()
    x["initial_state"] = x["initial_state"].float()
    y, h = selective_scan_ref(**x, delta_softplus=True, return_final_state=True)
    assert y.dtype == dtype and h.dtype == torch.float32
    exact = selective_scan_loop(**{k: v.to(F64) for k, v in x.items()}, delta_softplus=True)
    err = (y.to(F64) - exact).abs().max() / exact.abs().max()
    assert err < {torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 2e-3}[dtype]


def test_shape_errors_name_the_argument():
    x = make_inputs()
    with pytest.raises(ValueError, match="delta must have u's shape"):
        selective_scan_ref(**{**x, "delta": x["delta"][..., :-1]})
    with pytest.raises(ValueError, match="B must be"):
        selective_scan_ref(**{**x, "B": x["B"][:, :3]})
    with pytest.raises(ValueError, match="groups dividing dim"):
        selective_scan_ref(**{**x, "B": x["B"].unsqueeze(1).expand(-1, 4, -1, -1)})
    with pytest.raises(ValueError, match="initial_state must be"):
        selective_scan_ref(**{**x, "initial_state": x["initial_state"][:1]})
