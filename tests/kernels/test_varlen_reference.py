"""Packed variable-length batches on the reference path: a packed row gives, for every
sequence, the outputs, final states and gradients of running that sequence alone through the
naive per-step yardsticks; bad cu_seqlens are refused with a message that says why."""
import pytest
import torch
import torch.nn.functional as F

from mambaseq.kernels import causal_conv1d, cu_seqlens_from_lengths, selective_scan
from mambaseq.kernels.varlen import last_inputs, sequence_ids

from .naive import selective_scan_loop
from .packed_cases import LENGTHS, run_alone, run_packed
from .test_scan_reference import make_inputs

F64 = torch.float64


def scan_inputs(lengths, with_init=True, groups=None):
    n = len(lengths)
    args = make_inputs(batch=1, dim=5, length=sum(lengths), state=3, groups=groups)
    args["initial_state"] = torch.randn(n, 5, 3, dtype=F64) if with_init else None
    return args


@pytest.mark.parametrize("lengths", [LENGTHS, [40], [1, 1, 1], [64, 1, 65]])
@pytest.mark.parametrize("with_init", [True, False])
@pytest.mark.parametrize("groups", [None, 1])
def test_packed_scan_equals_each_sequence_alone(lengths, with_init, groups):
    args = scan_inputs(lengths, with_init, groups)
    cu = cu_seqlens_from_lengths(lengths)
    cot = (torch.randn(1, 5, sum(lengths), dtype=F64), torch.randn(len(lengths), 5, 3, dtype=F64))
    packed = run_packed(selective_scan, args, cu, cot, delta_softplus=True)
    alone = run_alone(selective_scan_loop, args, cu, cot, delta_softplus=True)
    assert packed.keys() == alone.keys()
    for name in packed:
        torch.testing.assert_close(packed[name], alone[name], rtol=1e-12, atol=1e-12, msg=name)


def test_packed_scan_gradcheck():
    args = scan_inputs([2, 1, 3])
    names = [k for k, v in args.items() if v is not None]
    for k in names:
        args[k].requires_grad_()
    cu = cu_seqlens_from_lengths([2, 1, 3])
    f = lambda *t: selective_scan(**dict(zip(names, t)), delta_softplus=True,
                                  return_final_state=True, cu_seqlens=cu)
    assert torch.autograd.gradcheck(f, tuple(args[k] for k in names))


def conv_alone(x, weight, bias, return_final_state, activation):
    """The causal conv of one sequence by its formula, and its last W - 1 inputs."""
    width = weight.shape[1]
    full = torch.cat([x.new_zeros(*x.shape[:-1], width - 1), x], dim=-1)
    y = torch.stack([(full[..., t:t + width] * weight).sum(-1) + bias
                     for t in range(x.shape[-1])], dim=-1)
    return F.silu(y) if activation == "silu" else y, full[..., -(width - 1):]


@pytest.mark.parametrize("lengths", [LENGTHS, [12], [1, 1, 1, 1]])
@pytest.mark.parametrize("width", [2, 4])
def test_packed_conv_equals_each_sequence_alone(lengths, width):
    total, n = sum(lengths), len(lengths)
    args = dict(x=torch.randn(1, 6, total, dtype=F64), weight=torch.randn(6, width, dtype=F64),
                bias=torch.randn(6, dtype=F64))
    cu = cu_seqlens_from_lengths(lengths)
    cot = (torch.randn(1, 6, total, dtype=F64), torch.randn(n, 6, width - 1, dtype=F64))
    packed = run_packed(causal_conv1d, args, cu, cot, activation="silu")
    alone = run_alone(conv_alone, args, cu, cot, activation="silu")
    for name in packed:
        torch.testing.assert_close(packed[name], alone[name], rtol=1e-12, atol=1e-12, msg=name)


def test_sequence_ids_and_last_inputs():
    cu = cu_seqlens_from_lengths([2, 1, 3])
    assert sequence_ids(cu, 6).tolist() == [0, 0, 1, 2, 2, 2]
    x = torch.arange(6.0).view(1, 1, 6)
    assert last_inputs(x, cu, 2)[:, 0].tolist() == [[0, 1], [0, 2], [4, 5]]


@pytest.mark.parametrize("cu, batch, message", [
    ([0, 3, 3, 6], 1, "strictly increasing"),
    ([1, 6], 1, "start at 0"),
    ([0, 5], 1, "end at the packed length"),
    ([0, 6], 2, "batch of 1"),
])
def test_bad_cu_seqlens_are_refused(cu, batch, message):
    args = make_inputs(batch=batch, dim=2, length=6, state=2)
    with pytest.raises(ValueError, match=message):
        selective_scan(**args, cu_seqlens=torch.tensor(cu, dtype=torch.int32))
    with pytest.raises(ValueError, match=message):
        causal_conv1d(args["u"], torch.randn(2, 4, dtype=F64),
                      cu_seqlens=torch.tensor(cu, dtype=torch.int32))


def test_packed_initial_state_needs_one_row_per_sequence():
    args = make_inputs(batch=1, dim=2, length=6, state=2)     # initial_state has 1 row
    with pytest.raises(ValueError, match="sequences=3"):
        selective_scan(**args, cu_seqlens=cu_seqlens_from_lengths([2, 2, 2]))
