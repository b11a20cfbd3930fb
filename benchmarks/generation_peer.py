"""Generation against mamba_ssm's own decoder on the same weights (issue 15): our ``generate``
(prefill, then one CUDA-graph replay per token) against ``MambaLMHeadModel.generate(cg=True)``
(its prefill, then its captured graph per token), greedy, one process, one GPU.

mamba_ssm comes from benchmarks/peer.py (its source distribution built on the GPU; nothing of
it is committed). Our untrained bf16 ``MambaLM`` is copied into the peer's model through
``core.interop.as_mamba_ssm``; the last-position logits of one prompt, computed by both
models, say that the copy is the same model (relative difference, bf16).

Both are timed the same way: the steady-state milliseconds per new token are the time of a
generate call with ``new_tokens`` new tokens minus that of one with SKIP_TOKENS + 1 (the
fastest of two each), over the tokens between, after a warm-up call: prefill, warm-up steps
and graph capture cancel (the peer keeps its captured graphs between calls; ours captures in
every call, which the difference removes too).
"""
from __future__ import annotations

import time
from typing import Callable

import torch

from benchmarks.peer import load_lm_head_model
from mambaseq.core import MambaLM, generate
from mambaseq.core.interop import as_mamba_ssm

SKIP_TOKENS = 4


def peer_copy(model: MambaLM) -> tuple[torch.nn.Module | None, str]:
    """mamba_ssm's MambaLMHeadModel holding ``model``'s weights (same device and dtype), in
    eval mode, or None; and the peer loader's note (why not, or which conv path it runs)."""
    classes, note = load_lm_head_model()
    if classes is None:
        return None, note
    head_model, config_class = classes
    config, state = as_mamba_ssm(model)
    weight = next(model.parameters())
    theirs = head_model(config_class(**config), device=weight.device, dtype=weight.dtype)
    theirs.load_state_dict(state)
    return theirs.eval(), note


def logits_difference(ours: MambaLM, theirs: torch.nn.Module, prompt: int) -> float:
    """max |ours - theirs| / max |ours| of the last position's logits over the real
    vocabulary, for one random prompt of ``prompt`` tokens."""
    vocab = ours.config.vocab_size
    ids = torch.randint(0, vocab, (1, prompt), device=next(ours.parameters()).device)
    with torch.no_grad():
        a = ours(ids)[0, -1, :vocab].float()
        b = theirs(ids, num_last_tokens=1).logits[0, -1, :vocab].float()
    return float((a - b).abs().max() / a.abs().max())


def decode_ms_per_token(run: Callable[[int], object], new_tokens: int, repeats: int = 2) -> float:
    """Steady-state ms per new token of ``run(n)`` (a generate call making n new tokens): the
    fastest of ``repeats`` full calls minus the fastest of as many short ones, alternating (one
    short call slowed by a stall made a single difference too small: 130M, batch 16 read
    0.37 ms a token beside 0.56 at batch 1 on 2026-12-06)."""
    run(new_tokens)

    def timed(n: int) -> float:
        torch.cuda.synchronize()
        started = time.perf_counter()
        run(n)
        torch.cuda.synchronize()
        return (time.perf_counter() - started) * 1e3

    short, full = float("inf"), float("inf")
    for _ in range(repeats):
        short, full = min(short, timed(SKIP_TOKENS + 1)), min(full, timed(new_tokens))
    return (full - short) / (new_tokens - SKIP_TOKENS - 1)


def compare_with_peer(rows: list[dict], ours: MambaLM, size: str, batches: list[int],
                      prompt: int, new_tokens: int,
                      states: dict[str, torch.dtype] | None = None) -> None:
    """One row per (batch, decoder) in section "vs mamba_ssm": ms/token, tokens/s, and in
    the note the logits check and the peer's conv path; a failing peer becomes a note.
    ``states``: our decoder once per named scan-state dtype (default: float32 only; the peer
    keeps its states in the model's dtype)."""
    states = states or {"float32": torch.float32}
    theirs, note = peer_copy(ours)
    params_m = round(sum(p.numel() for p in ours.parameters()) / 1e6, 1)
    base = {"section": "vs mamba_ssm", "size": size, "params_M": params_m, "prompt": prompt,
            "new_tokens": new_tokens}
    if theirs is None:
        rows.append({**base, "model": "mamba_ssm", "batch": None, "note": note})
        print(f"  vs mamba_ssm {size}: {note}", flush=True)
        return
    check = f"last-position logits differ by {logits_difference(ours, theirs, prompt):.1e} (rel.)"
    vocab = ours.config.vocab_size
    device = next(ours.parameters()).device
    for batch in batches:
        ids = torch.randint(0, vocab, (batch, prompt), device=device)
        decoders = [("mamba", state, lambda n, dtype=dtype: generate(
                        ours, ids, n, temperature=0, state_dtype=dtype))
                    for state, dtype in states.items()]
        decoders.append(("mamba_ssm", "", lambda n: theirs.generate(
            ids, max_length=prompt + n, cg=True, top_k=1)))
        for name, state, run in decoders:
            row = {**base, "model": name, "state": state, "batch": batch,
                   "note": check if name == "mamba" else f"{check}; {note}"}
            try:
                with torch.no_grad():
                    ms = decode_ms_per_token(run, new_tokens)
                row.update(ms_per_token=ms, tokens_per_s=batch * 1e3 / ms)
            except torch.cuda.OutOfMemoryError:
                row["note"] = "out of GPU memory"
            rows.append(row)
            print(f"  vs mamba_ssm {size} {name} {state} batch {batch}: "
                  f"{row.get('ms_per_token', float('nan')):.3f} ms/token", flush=True)
        torch.cuda.empty_cache()
