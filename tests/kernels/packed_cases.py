"""Test helpers for packed variable-length batches: run an op once on the packed batch and once
per sequence, with the same output cotangents, and collect outputs and input gradients."""
from __future__ import annotations

from typing import Callable

import torch

from mambaseq.kernels import cu_seqlens_from_lengths

TIME_ARGS = ("u", "delta", "z", "B", "C", "x")      # arguments whose last axis is the length
# lengths with sequences of one step, adjacent boundaries, and longer runs across tiles
LENGTHS = [1, 1, 6, 1, 23, 2, 9]


def packed_inputs(make: Callable[..., dict], lengths: list[int], **kwargs) -> tuple[dict, torch.Tensor]:
    """Inputs of one packed row of sum(lengths) steps from ``make(length=..., **kwargs)``, and
    its int32 cu_seqlens."""
    return make(length=sum(lengths), **kwargs), cu_seqlens_from_lengths(lengths)


def _leaves(args: dict, dtype: torch.dtype | None) -> dict:
    return {k: (v.detach().to(dtype or v.dtype).clone().requires_grad_()
                if isinstance(v, torch.Tensor) and v.is_floating_point() else v)
            for k, v in args.items()}


def _results(leaves: dict, y: torch.Tensor, final: torch.Tensor) -> dict:
    out = {"y": y.detach(), "final_state": final.detach()}
    out.update({f"d{k}": v.grad for k, v in leaves.items()
                if isinstance(v, torch.Tensor) and v.requires_grad})
    return out


def run_packed(op: Callable, args: dict, cu_seqlens: torch.Tensor, cotangents: tuple,
               dtype: torch.dtype | None = None, **kwargs) -> dict:
    """``op`` on the packed batch (args cast to ``dtype`` when given): y, final_state and
    d<name> for every floating input, after backpropagating ``cotangents`` (dy, dfinal)."""
    leaves = _leaves(args, dtype)
    y, final = op(**leaves, return_final_state=True, cu_seqlens=cu_seqlens, **kwargs)
    torch.autograd.backward([y, final], [c.to(y.dtype if i == 0 else final.dtype)
                                         for i, c in enumerate(cotangents)])
    return _results(leaves, y, final)


def run_alone(op: Callable, args: dict, cu_seqlens: torch.Tensor, cotangents: tuple,
              dtype: torch.dtype | None = None, **kwargs) -> dict:
    """``op`` on every sequence by itself (its slice of the time arguments, its row of
    initial_state), outputs concatenated: the results ``run_packed`` must reproduce."""
    leaves = _leaves(args, dtype)
    bounds = cu_seqlens.tolist()
    ys, finals = [], []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        part = {k: (v[..., a:b] if k in TIME_ARGS else v) for k, v in leaves.items()}
        if part.get("initial_state") is not None:
            part["initial_state"] = part["initial_state"][i:i + 1]
        y, final = op(**part, return_final_state=True, **kwargs)
        ys.append(y)
        finals.append(final)
    y, final = torch.cat(ys, dim=-1), torch.cat(finals)
    torch.autograd.backward([y, final], [c.to(y.dtype if i == 0 else final.dtype)
                                         for i, c in enumerate(cotangents)])
    return _results(leaves, y, final)
