"""What a training forward pass keeps for backward: bytes per token of every tensor saved by
autograd (``torch.autograd.graph.saved_tensors_hooks``), per residual block and in total.

Each saved tensor is counted once (by its storage), parameters not at all, and copies of a
parameter's shape (autocast's bf16 weights: a constant, not per token) apart; a tensor is
charged to the block whose forward was running when it was saved ("head" outside them). Runs
anywhere: on the CPU the reference kernels, with ``MAMBASEQ_KERNELS=triton TRITON_INTERPRET=1``
the Triton kernels under Triton's interpreter, on a GPU the Triton kernels themselves.

    python benchmarks/saved_memory.py [--d-model 128] [--n-layer 12] [--length 1024]
        [--bf16] [--keep-all] [--packed 3]

``--keep-all`` turns off the mixer's recomputation (``MambaMixer.recompute_core``), the path
before it existed.
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import torch

from mambaseq.core import MambaLM
from mambaseq.core.config import MambaConfig
from mambaseq.core.model import ResidualBlock


class SavedTensorLedger:
    """Records (owner, shape, dtype) -> bytes of every distinct tensor autograd saves."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.owner = "head"
        self.bytes: dict[tuple[str, str], int] = defaultdict(int)
        self._seen: set[int] = set()
        self._params = {p.untyped_storage().data_ptr() for p in model.parameters()}
        self._weight_shapes = {s for p in model.parameters() for s in (p.shape, p.shape[::-1])}
        for i, block in enumerate(m for m in model.modules() if isinstance(m, ResidualBlock)):
            block.register_forward_pre_hook(self._enter(f"block {i}"))
            block.register_forward_hook(self._leave)

    def _enter(self, name: str):
        def hook(module, args):
            self.owner = name
        return hook

    def _leave(self, module, args, output) -> None:
        self.owner = "head"

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in self._seen and ptr not in self._params:
            self._seen.add(ptr)
            kind = f"{tuple(t.shape)} {str(t.dtype).replace('torch.', '')}"
            owner = "weights" if t.shape in self._weight_shapes else self.owner
            self.bytes[(owner, kind)] += storage.nbytes()
        return t

    def hooks(self):
        return torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t)


def measure(config: MambaConfig, length: int, bf16: bool, keep_all: bool, packed: int,
            device: str) -> tuple[SavedTensorLedger, int]:
    """One forward pass of a MambaLM on random tokens (batch 1) under the ledger; returns it
    and the number of tokens."""
    torch.manual_seed(0)
    model = MambaLM(config).to(device)
    for module in model.modules():
        if hasattr(module, "recompute_core"):
            module.recompute_core = not keep_all
    ids = torch.randint(0, config.vocab_size, (1, length), device=device)
    cu = None
    if packed > 1:
        cu = torch.linspace(0, length, packed + 1, device=device).round().long()
    ledger = SavedTensorLedger(model)
    with ledger.hooks(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        logits = model(ids, cu_seqlens=cu)
    logits.float().logsumexp(-1).sum().backward()      # the graph is complete and usable
    return ledger, length


def report(ledger: SavedTensorLedger, tokens: int) -> None:
    """Prints bytes per token by owner and tensor, then the totals."""
    per_owner: dict[str, float] = defaultdict(float)
    print(f"{'owner':<10} {'tensor (shape dtype)':<40} {'B/token':>9}")
    for (owner, kind), nbytes in sorted(ledger.bytes.items()):
        if owner == "weights":
            per_owner[owner] += nbytes
            continue
        per_owner[owner] += nbytes / tokens
        if owner in ("block 0", "head"):
            print(f"{owner:<10} {kind:<40} {nbytes / tokens:9.1f}")
    blocks = [v for k, v in per_owner.items() if k.startswith("block")]
    print(f"per block: {blocks[0]:.0f} B/token (block 0; all blocks "
          f"{min(blocks):.0f}..{max(blocks):.0f})")
    print(f"head (embedding, final norm, logits): {per_owner['head']:.0f} B/token")
    weights = per_owner.pop("weights", 0.0)
    print(f"total: {sum(per_owner.values()) / 1e3:.2f} KB/token, plus "
          f"{weights / 1e6:.2f} MB of weight copies (autocast; not per token)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--n-layer", type=int, default=12)
    parser.add_argument("--vocab-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--packed", type=int, default=1, help="sequences packed in the row")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast")
    parser.add_argument("--keep-all", action="store_true", help="no recomputation in backward")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    opts = parser.parse_args()
    config = MambaConfig(d_model=opts.d_model, n_layer=opts.n_layer, vocab_size=opts.vocab_size)
    ledger, tokens = measure(config, opts.length, opts.bf16, opts.keep_all, opts.packed,
                             opts.device)
    print(f"# d_model {opts.d_model}, {opts.n_layer} layers, L {opts.length}, "
          f"{'bf16 autocast' if opts.bf16 else 'float32'}, {opts.device}, "
          f"{'keep all' if opts.keep_all else 'recompute in backward'}")
    report(ledger, tokens)


if __name__ == "__main__":
    main()
