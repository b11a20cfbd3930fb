"""Stop training at the first NaN or infinite loss or gradient, before the optimizer applies
it and before any checkpoint of that step is written, saying where it came from."""
from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

WRAPPER_PREFIX = "_checkpoint_wrapped_module."    # activation checkpointing's module wrapper


class NonFiniteError(RuntimeError):
    """Training met a NaN or infinite loss or gradient; the message names the global step and
    the first non-finite parameter gradient or module output."""


def _name(name: str) -> str:
    return name.replace(WRAPPER_PREFIX, "")


def first_nonfinite_output(pl_module: L.LightningModule, batch: Any, batch_idx: int
                           ) -> tuple[str | None, torch.Tensor]:
    """Re-run ``training_step`` on ``batch`` without gradients, watching every submodule's
    output. Returns (name of the first module, in the order they finish, whose output holds a
    NaN or Inf, or None; the loss)."""
    found: list[str] = []

    def watch(name: str):
        def hook(module: torch.nn.Module, inputs: Any, output: Any) -> None:
            tensors = output if isinstance(output, (tuple, list)) else (output,)
            if not found and any(isinstance(t, torch.Tensor) and t.is_floating_point()
                                 and not bool(torch.isfinite(t).all()) for t in tensors):
                found.append(f"{_name(name)} ({type(module).__name__})")
        return hook

    handles = [m.register_forward_hook(watch(n)) for n, m in pl_module.named_modules() if n]
    try:
        with torch.no_grad():
            out = pl_module.training_step(batch, batch_idx)
    finally:
        for handle in handles:
            handle.remove()
    loss = out["loss"] if isinstance(out, dict) else out
    return (found[0] if found else None), loss.detach()


class NonFiniteGuard(Callback):
    """Checks every step's gradients (before the optimizer step and gradient clipping) and
    loss; at the first NaN or Inf raises ``NonFiniteError`` naming the global step and the
    first parameter whose gradient is not finite, or, when the loss itself is not finite, the
    first module whose output is not. The weights are left as before that step and no
    checkpoint of it is written, so ``last.ckpt`` stays the last good one. (A non-finite loss
    with finite gradients is caught after that step's update, still before its checkpoint.)

    The gradient check is one fused norm over all gradients and one host synchronisation per
    step. Under float16 loss scaling the gradients are not checked (a scaler meets Inf gradients
    routinely and skips those steps); the loss still is.
    """

    def __init__(self) -> None:
        self._batch: Any = None
        self._batch_idx = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        self._batch, self._batch_idx = batch, batch_idx

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule,
                                 optimizer: torch.optim.Optimizer) -> None:
        if getattr(trainer.precision_plugin, "scaler", None) is not None:
            return
        grads = [(n, p.grad) for n, p in pl_module.named_parameters() if p.grad is not None]
        if not grads or bool(torch.isfinite(torch.nn.utils.get_total_norm([g for _, g in grads]))):
            return
        module, loss = first_nonfinite_output(pl_module, self._batch, self._batch_idx)
        if not bool(torch.isfinite(loss)):
            self._stop(trainer, self._loss_message(loss, module))
        bad = next(n for n, g in grads if not bool(torch.isfinite(g).all()))
        self._stop(trainer, f"the gradient of {_name(bad)} is not finite, while the loss "
                            f"({loss.item():.4g}) is")

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        bad = loss is not None and not bool(torch.isfinite(loss.detach()))
        if trainer.world_size > 1:
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if bad:
            module, loss = first_nonfinite_output(pl_module, batch, batch_idx)
            self._stop(trainer, self._loss_message(loss, module), step=trainer.global_step - 1)

    @staticmethod
    def _loss_message(loss: torch.Tensor, module: str | None) -> str:
        where = (f"the first module whose output is not finite is {module}" if module
                 else "every module's output is finite, so the loss function made it")
        return f"the loss is {loss.item()}; {where}"

    @staticmethod
    def _stop(trainer: L.Trainer, what: str, step: int | None = None) -> None:
        checkpoint = getattr(trainer.checkpoint_callback, "last_model_path", "")
        kept = (f"the last good checkpoint is {checkpoint}" if checkpoint
                else "no checkpoint had been written")
        raise NonFiniteError(f"training stopped at global step "
                             f"{trainer.global_step if step is None else step}: {what}; {kept} "
                             f"(lower optim.lr or raise optim.warmup_steps)")
