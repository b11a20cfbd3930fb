"""Recompute in backward: run a function without keeping its intermediates, save only its
inputs, and run it again (under the same autocast) when the backward pass needs them.

This is what the Mamba mixer uses to keep only in_proj's output per token and recompute the
conv, Δ, B and C in the backward pass (as mamba_ssm's fused block does). The selective scans
in the block layout are not run again: the first run records their outputs and chunk-start
states and the second takes them back (``kernels.scan_stash``), as mamba_ssm's block keeps
its scan's chunk states. Unlike ``torch.utils.checkpoint`` its saved inputs go through
``ctx.save_for_backward``, so ``torch.autograd.graph.saved_tensors_hooks``
(``benchmarks/saved_memory.py``) sees them.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from mambaseq.kernels.scan_stash import ScanStash, stashing


class _Recomputed(torch.autograd.Function):
    """forward(fn, n_inputs, *inputs_then_params) -> fn(*inputs), a tuple of tensors or None.

    ``inputs`` are fn's arguments (tensors or None); ``params`` are tensors fn reads from
    elsewhere (module parameters): passed here so that their gradients flow."""

    @staticmethod
    def forward(ctx, fn: Callable, n_inputs: int, *args):
        inputs, params = args[:n_inputs], args[n_inputs:]
        device = next(t for t in inputs if t is not None).device.type
        ctx.fn, ctx.n_inputs, ctx.params = fn, n_inputs, params
        ctx.autocast = (device, torch.is_autocast_enabled(device),
                        torch.get_autocast_dtype(device))
        ctx.set_materialize_grads(False)
        stash = ScanStash()
        with stashing(stash):
            outputs = fn(*inputs)
        # the recorded scans through save_for_backward: y is one of the outputs (a ctx
        # attribute holding it would be a reference cycle through this node)
        ctx.save_for_backward(*inputs, *stash.tensors())
        return outputs

    @staticmethod
    def backward(ctx, *grad_outputs):
        wants = ctx.needs_input_grad[2:]
        saved = ctx.saved_tensors
        inputs = [t.detach().requires_grad_(want) if t is not None and t.is_floating_point()
                  else t for t, want in zip(saved[:ctx.n_inputs], wants)]
        device, enabled, dtype = ctx.autocast
        stash = ScanStash.replaying_from(saved[ctx.n_inputs:])
        with (torch.enable_grad(), torch.autocast(device, dtype=dtype, enabled=enabled),
              stashing(stash)):
            outputs = ctx.fn(*inputs)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if o is not None and g is not None and o.requires_grad]
        wrt = [(i, t) for i, (t, want) in enumerate(zip(list(inputs) + list(ctx.params), wants))
               if want]
        grads: list[torch.Tensor | None] = [None] * len(wants)
        if pairs and wrt:
            found = torch.autograd.grad([o for o, _ in pairs], [t for _, t in wrt],
                                        [g for _, g in pairs], allow_unused=True)
            for (i, _), g in zip(wrt, found):
                grads[i] = g
        return (None, None, *grads)


def recomputed(fn: Callable, inputs: Sequence[torch.Tensor | None],
               params: Sequence[torch.Tensor]) -> tuple:
    """``fn(*inputs)`` (a tuple of tensors or None), keeping only ``inputs`` for the backward
    pass, which runs ``fn`` again to get gradients for ``inputs`` and ``params`` (the tensors
    ``fn`` reads besides its arguments, e.g. a module's parameters). ``fn`` must be
    deterministic; autocast is re-entered as it was in the forward pass. Gradients are those
    of ``fn`` itself."""
    return _Recomputed.apply(fn, len(inputs), *inputs, *params)
