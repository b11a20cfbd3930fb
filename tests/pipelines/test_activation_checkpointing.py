"""Activation checkpointing recomputes every residual block's mixer in the backward pass and
changes neither the loss nor the gradients, for every backbone."""
import pytest
import torch

from mambaseq.core import MambaConfig
from mambaseq.pipelines.training.language_model import LMModule
from mambaseq.pipelines.training.sequence_classifier import SequenceClassifierModule

MODEL = MambaConfig(d_model=16, n_layer=2, vocab_size=10, d_state=4).to_dict()
OPTIM = {"lr": 1e-3, "weight_decay": 0.1, "betas": [0.9, 0.95], "warmup_steps": 1,
         "min_lr_ratio": 0.1, "grad_clip": 1.0}


def lm(checkpointing, backbone=None):
    return LMModule(MODEL, OPTIM, 10, backbone=backbone, activation_checkpointing=checkpointing)


def classifier(checkpointing):
    return SequenceClassifierModule("BidirectionalClassifier", MODEL, {"num_classes": 3}, OPTIM, 10,
                            ["a", "b", "c"], activation_checkpointing=checkpointing)


def loss_grads_and_block_calls(module, batch):
    """(loss, gradients by parameter name, calls of the blocks' first layer (in_proj) in the
    forward pass, and in the backward pass)."""
    calls = []
    for name, layer in module.named_modules():
        if name.endswith("in_proj"):
            layer.register_forward_hook(lambda *_: calls.append(1))
    loss = module.training_step(batch, 0)
    forward_calls = len(calls)
    loss.backward()
    grads = {n.replace("_checkpoint_wrapped_module.", ""): p.grad for n, p in module.named_parameters()}
    return loss.detach(), grads, forward_calls, len(calls) - forward_calls


@pytest.mark.parametrize("make,batch", [
    (lambda c: lm(c), torch.randint(0, 10, (2, 65))),
    (lambda c: lm(c, {"kind": "sashimi", "pool": [2], "expand": 2}), torch.randint(0, 10, (2, 65))),
    (classifier, (torch.randint(0, 10, (2, 48)), torch.tensor([48, 30]), torch.tensor([0, 2]))),
])
def test_same_loss_and_gradients_blocks_recomputed(make, batch):
    plain = make(False)
    checkpointed = make(True)
    checkpointed.load_state_dict(plain.state_dict())        # same keys with or without it
    loss, grads, calls, recomputed = loss_grads_and_block_calls(plain, batch)
    loss_c, grads_c, calls_c, recomputed_c = loss_grads_and_block_calls(checkpointed, batch)
    assert recomputed == 0 and calls_c == calls > 0
    assert recomputed_c == calls                             # every block ran again in backward
    assert torch.equal(loss, loss_c)
    assert grads.keys() == grads_c.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grads_c[name], grad, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("make", [
    lambda r: LMModule(MODEL, OPTIM, 10, recompute_mixer_core=r),
    lambda r: LMModule(MODEL, OPTIM, 10, backbone={"kind": "sashimi", "pool": [2], "expand": 2},
                       recompute_mixer_core=r),
    lambda r: SequenceClassifierModule("MambaClassifier", MODEL, {"num_classes": 3}, OPTIM, 10,
                                       ["a", "b", "c"], recompute_mixer_core=r),
], ids=["lm", "sashimi", "classifier"])
def test_keeping_the_mixer_core_changes_nothing_but_memory(make):
    """trainer.recompute_mixer_core=false reaches every mixer; loss and gradients agree."""
    from mambaseq.core import MambaMixer
    batch = (torch.randint(0, 10, (2, 33)) if isinstance(make(True), LMModule)
             else (torch.randint(0, 10, (2, 32)), torch.tensor([32, 20]), torch.tensor([0, 2])))
    results = {}
    for recompute in (True, False):
        torch.manual_seed(0)
        module = make(recompute).double()
        flags = {m.recompute_core for m in module.modules() if isinstance(m, MambaMixer)}
        assert flags == {recompute}
        loss, grads, _, _ = loss_grads_and_block_calls(module, batch)
        results[recompute] = loss, grads
    torch.testing.assert_close(results[True][0], results[False][0])
    for name, grad in results[True][1].items():
        torch.testing.assert_close(grad, results[False][1][name], msg=name)
