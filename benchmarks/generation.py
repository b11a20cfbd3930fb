"""Generation speed: our Mamba against a same-size Transformer with a KV cache, both decoded
by ``core.generate`` (prefill, then one CUDA-graph replay per token, greedy sampling).

Sections (untrained weights, bf16, vocabulary 50277 as in the Mamba paper's LMs):
  1. throughput: batch 1, 16, 64, 128 at prompt 2048 + 128 new tokens, ~130M parameters
     (Mamba d 768 x 24 layers; Transformer d 768 x 12 layers, 12 heads) and ~1.4B (Mamba
     d 2048 x 48; Transformer d 2048 x 24, 16 heads); a configuration whose KV cache does
     not fit in the free GPU memory is skipped and says so;
  2. per-token latency at prompt 2K vs 32K (batch 1, both sizes);
  3. audio: seconds per generated second of 16 kHz audio for an SC09-sized Mamba
     (d 128 x 48 layers, 256 mu-law levels, ~5.6M parameters), measured over
     ``--audio-tokens`` steps and scaled to 16,000;
  4. step variants: one decoding step of Mamba through ``MambaLM.step`` or the fast path's
     step (``core.decode_step``), eager or CUDA-graphed: what each part of the fast path buys;
  5. with ``--peer`` (MAMBASEQ_PEER_DIR set, see benchmarks/peer.py): our decoder against
     mamba_ssm's ``MambaLMHeadModel.generate(cg=True)`` on the same weights, at every batch
     and size of section 1 (benchmarks/generation_peer.py).

Per-token latency is the decode loop only (step + sampling), from new token SKIP_TOKENS + 1
to the last (the first ones include the eager warm-up steps and the graph capture); time to
first token is the prefill and the first step. ``--profile`` adds the kernels of one Mamba
step. ``--state-dtypes float32 bfloat16`` times our Mamba with each scan-state dtype in every
section (bfloat16: half the state's memory and traffic a step, as mamba_ssm decodes; float32,
the default, matches the parallel forward). Prints Markdown tables; writes generation.csv and
generation.png (when matplotlib imports) to ``--out``.

    PYTHONUNBUFFERED=1 python -m benchmarks.generation --out runs/bench [--peer]
        [--sections throughput long audio variants peer] [--state-dtypes float32 bfloat16]
    python -m benchmarks.generation --smoke     # tiny shapes, any device, seconds
"""
from __future__ import annotations

import argparse
import csv
import math
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmarks.generation_peer import compare_with_peer
from benchmarks.kernel_profile import kernel_table
from mambaseq.core import STATE_DTYPES, MambaConfig, MambaLM, StepRunner, decode_step, generate

VOCAB = 50277
# New tokens left out of the per-token latency: the eager warm-up steps and the graph capture.
SKIP_TOKENS = 4


@dataclass
class KVCache:
    """Preallocated keys and values for every layer, and the next write position.

    k, v: (layers, batch, heads, max_len, head_dim) in the model's dtype; pos: () int64 on
    the device (the step reads it, so a CUDA graph replays correctly); seqlen_offset: the
    same position as a Python int (prefill slices with it).
    """

    k: torch.Tensor
    v: torch.Tensor
    pos: torch.Tensor
    seqlen_offset: int = 0


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: causal self-attention (SDPA) then a 4x GELU MLP."""

    def __init__(self, d_model: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.fc_out = nn.Linear(4 * d_model, d_model)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc_out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    def forward(self, x: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                start: int) -> torch.Tensor:
        """x (batch, length, d) at positions [start, start + length); writes their keys and
        values into k_cache, v_cache (batch, heads, max_len, head_dim)."""
        b, length, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, length, 3, self.n_head, -1).permute(2, 0, 3, 1, 4)
        end = start + length
        k_cache[:, :, start:end], v_cache[:, :, start:end] = k, v
        if start == 0:
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            mask = (torch.arange(end, device=x.device)[None, :]
                    <= torch.arange(start, end, device=x.device)[:, None])
            att = F.scaled_dot_product_attention(q, k_cache[:, :, :end], v_cache[:, :, :end],
                                                 attn_mask=mask)
        return self._mlp(x + self.proj(att.transpose(1, 2).reshape(b, length, d)))

    def step(self, x: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
             pos: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (batch, d) at position ``pos``; mask (1, 1, 1, max_len) bool, True up to pos."""
        b, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, 3, self.n_head, 1, -1).unbind(1)
        k_cache.index_copy_(2, pos.view(1), k)
        v_cache.index_copy_(2, pos.view(1), v)
        att = F.scaled_dot_product_attention(q, k_cache, v_cache, attn_mask=mask)
        return self._mlp(x + self.proj(att.reshape(b, d)))


class GPT(nn.Module):
    """GPT-style decoder with learned positions and tied embeddings, exposing the interface
    ``core.generate`` decodes: forward(ids, cache), step(ids, cache), allocate_cache(batch).
    ``cache_len`` (settable) is the KV cache's length: prompt + new tokens."""

    decode_graph_period = 1             # the step has no position-dependent Python branch

    def __init__(self, d_model: int, n_layer: int, n_head: int, max_len: int,
                 vocab_size: int = VOCAB) -> None:
        super().__init__()
        self.vocab_size, self.n_head, self.cache_len = vocab_size, n_head, max_len
        self.wte = nn.Embedding((vocab_size + 7) // 8 * 8, d_model)
        self.wpe = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def allocate_cache(self, batch_size: int, dtype: torch.dtype | None = None,
                       device: torch.device | None = None) -> KVCache:
        w = self.wte.weight
        shape = (len(self.blocks), batch_size, self.n_head, self.cache_len,
                 w.shape[1] // self.n_head)
        k = torch.zeros(shape, dtype=dtype or w.dtype, device=device or w.device)
        return KVCache(k, torch.zeros_like(k), torch.zeros((), dtype=torch.long, device=k.device))

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.ln_f(x), self.wte.weight)[..., : self.vocab_size]

    def forward(self, ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """ids (batch, length) -> logits (batch, length, vocab); cache advanced."""
        start = cache.seqlen_offset
        x = self.wte(ids) + self.wpe(torch.arange(start, start + ids.shape[1], device=ids.device))
        for i, block in enumerate(self.blocks):
            x = block(x, cache.k[i], cache.v[i], start)
        cache.seqlen_offset += ids.shape[1]
        cache.pos.fill_(cache.seqlen_offset)
        return self._logits(x)

    def step(self, ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """ids (batch,) -> logits (batch, vocab); cache advanced in place."""
        x = self.wte(ids) + self.wpe(cache.pos)
        mask = (torch.arange(cache.k.shape[3], device=ids.device) <= cache.pos).view(1, 1, 1, -1)
        for i, block in enumerate(self.blocks):
            x = block.step(x, cache.k[i], cache.v[i], cache.pos, mask)
        cache.pos += 1
        cache.seqlen_offset += 1
        return self._logits(x)


SIZES = {  # name: (Mamba d_model, layers), (Transformer d_model, layers, heads)
    "130M": ((768, 24), (768, 12, 12)),
    "1.4B": ((2048, 48), (2048, 24, 16)),
}
SMOKE_SIZES = {"tiny": ((64, 2), (64, 2, 4))}
SECTIONS = {"throughput": "section 1", "long": "section 2", "audio": "section 3",
            "variants": "section 4", "peer": "section 5, with --peer"}


def build(kind: str, size: tuple, device: torch.device, max_len: int,
          vocab: int = VOCAB) -> nn.Module:
    """An untrained bf16 model (bf16 on the GPU, float32 on the CPU), built on ``device``."""
    with torch.device(device):
        if kind == "mamba":
            d_model, n_layer = size
            model = MambaLM(MambaConfig(d_model=d_model, n_layer=n_layer, vocab_size=vocab))
        else:
            model = GPT(*size, max_len=max_len, vocab_size=vocab)
    return model.to(torch.bfloat16 if device.type == "cuda" else torch.float32).eval()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class Clock:
    """Time stamps in milliseconds: CUDA events on the GPU, perf_counter elsewhere."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.marks: list = []

    def mark(self) -> None:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def elapsed(self, i: int, j: int) -> float:
        if self.cuda:
            torch.cuda.synchronize()
            return self.marks[i].elapsed_time(self.marks[j])
        return (self.marks[j] - self.marks[i]) * 1e3


def time_generate(model: nn.Module, batch: int, prompt: int, new_tokens: int, vocab: int,
                  device: torch.device, state_dtype: torch.dtype | None = None) -> dict:
    """Greedy ``generate`` of new_tokens after random prompts (``state_dtype``: a Mamba's
    scan states): time to first token (ms), ms per new token after the first SKIP_TOKENS,
    tokens/s over the batch, peak GPU memory (GB)."""
    ids = torch.randint(0, vocab, (batch, prompt), device=device)
    clock = Clock(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    clock.mark()
    generate(model, ids, new_tokens, temperature=0, on_token=lambda i: clock.mark(),
             state_dtype=state_dtype)
    per_token = clock.elapsed(1 + SKIP_TOKENS, new_tokens) / (new_tokens - 1 - SKIP_TOKENS)
    return {"ttft_ms": clock.elapsed(0, 1), "ms_per_token": per_token,
            "tokens_per_s": batch * 1e3 / per_token,
            "peak_gb": torch.cuda.max_memory_allocated() / 1e9 if device.type == "cuda" else 0.0}


def kv_cache_gb(model: GPT, batch: int, length: int) -> float:
    d = model.wte.weight.shape[1]
    return 2 * len(model.blocks) * batch * length * d * model.wte.weight.element_size() / 1e9


def fits(model: nn.Module, batch: int, length: int, device: torch.device) -> str:
    """'' when a GPT's KV cache (plus 10 GB for prefill and logits) fits in free memory;
    otherwise the reason to skip."""
    if not isinstance(model, GPT) or device.type != "cuda":
        return ""
    need = kv_cache_gb(model, batch, length) + 10
    free = torch.cuda.mem_get_info()[0] / 1e9
    return "" if need <= free else f"skipped: KV cache needs {need - 10:.0f} GB, {free:.0f} GB free"


def run_generation(rows: list[dict], section: str, models: dict, size: str, batches: list[int],
                   prompt: int, new_tokens: int, device: torch.device, states: list[str]) -> None:
    """Time both models of one size at every batch, Mamba with each scan-state dtype named in
    ``states``; one row per (model, state, batch)."""
    runs = [(kind, model, state) for kind, model in models.items()
            for state in (states if kind == "mamba" else [""])]
    for kind, model, state in runs:
        if isinstance(model, GPT):
            model.cache_len = prompt + new_tokens
        for batch in batches:
            row = {"section": section, "size": size, "model": kind, "state": state,
                   "params_M": round(n_params(model) / 1e6, 1), "batch": batch,
                   "prompt": prompt, "new_tokens": new_tokens,
                   "note": fits(model, batch, prompt + new_tokens, device)}
            if not row["note"]:
                try:
                    row.update(time_generate(model, batch, prompt, new_tokens, VOCAB, device,
                                             STATE_DTYPES.get(state)))
                except torch.cuda.OutOfMemoryError:
                    row["note"] = "out of GPU memory"
                except Exception as error:      # keep the other configurations' numbers
                    traceback.print_exc()
                    row["note"] = f"error: {type(error).__name__}"
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            rows.append(row)
            print(f"  {section} {size} {kind} {state} batch {batch} prompt {prompt}: "
                  f"{row.get('ms_per_token', float('nan')):.3f} ms/token {row['note']}", flush=True)


def time_steps(model: MambaLM, batch: int, fast: bool, graph: bool, steps: int,
               device: torch.device, state_dtype: torch.dtype = torch.float32) -> float:
    """ms per decoding step (no sampling) after a 64-token prefill."""
    vocab = model.config.vocab_size
    cache = model.allocate_cache(batch, state_dtype=state_dtype)
    with torch.no_grad():
        model(torch.randint(0, vocab, (batch, 64), device=device), cache)
        runner = StepRunner(decode_step(model) if fast else model.step, cache,
                            1 if graph else None)
        ids = torch.randint(0, vocab, (batch,), device=device)
        for _ in range(3):
            runner(ids)
        clock = Clock(device)
        clock.mark()
        for _ in range(steps):
            runner(ids)
        clock.mark()
    return clock.elapsed(0, 1) / steps


def run_step_variants(rows: list[dict], models: dict, batches: list[int], steps: int,
                      device: torch.device, states: list[str]) -> None:
    variants = [("MambaLM.step, eager", False, False), ("fast step, eager", True, False),
                ("MambaLM.step, graph", False, True), ("fast step, graph", True, True)]
    for name, model in models.items():
        for batch in batches:
            for (variant, fast, graph), state in ((v, s) for v in variants for s in states):
                if graph and device.type != "cuda":
                    continue
                ms = time_steps(model, batch, fast, graph, steps, device, STATE_DTYPES[state])
                rows.append({"section": "step variants", "size": name, "model": "mamba",
                             "state": state, "batch": batch, "note": variant,
                             "ms_per_token": ms})
                print(f"  step {name} batch {batch} {variant}, {state} state: {ms:.3f} ms",
                      flush=True)


def profile_step(model: MambaLM, batch: int, device: torch.device, state: str,
                 steps: int = 5) -> None:
    """Print the GPU kernels of the fast path's Mamba step (run eagerly, scan states in
    ``state``), by GPU time: where the time of a step goes, and how many kernels it launches."""
    cache = model.allocate_cache(batch, state_dtype=STATE_DTYPES[state])
    step = decode_step(model)
    ids = torch.randint(0, model.config.vocab_size, (batch,), device=device)
    with torch.no_grad():
        for _ in range(3):
            step(ids, cache)
        table = kernel_table(lambda: step(ids, cache), repeats=steps)
    print(f"\n### kernels of one fast Mamba step, batch {batch}, {state} state: {table}")


def fmt(value, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def print_tables(rows: list[dict]) -> None:
    by = {(r["section"], r["size"], r["model"], r.get("state", ""), r["batch"], r.get("prompt")): r
          for r in rows}
    sel = [r for r in rows if r["section"] == "throughput" and r["model"] == "mamba"]
    if sel:
        print(f"\n### throughput: Mamba vs Transformer, greedy, {sel[0]['new_tokens']} new "
              f"tokens (ratio: Mamba tok/s / Transformer tok/s; state: Mamba's scan state)\n")
        print("| size | batch | state | prompt | Mamba ms/token | Transformer ms/token "
              "| Mamba tok/s | Transformer tok/s | ratio | Mamba TTFT ms | Transformer TTFT ms "
              "| Mamba peak GB | Transformer peak GB | note |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for m in sorted(sel, key=lambda r: (r["size"], r["batch"])):
            t = by.get(("throughput", m["size"], "transformer", "", m["batch"], m["prompt"]), {})
            ratio = (m["tokens_per_s"] / t["tokens_per_s"]
                     if "tokens_per_s" in m and "tokens_per_s" in t else None)
            print(f"| {m['size']} | {m['batch']} | {m['state']} | {m['prompt']} "
                  f"| {fmt(m.get('ms_per_token'), 3)} "
                  f"| {fmt(t.get('ms_per_token'), 3)} | {fmt(m.get('tokens_per_s'), 0)} "
                  f"| {fmt(t.get('tokens_per_s'), 0)} | {fmt(ratio)} | {fmt(m.get('ttft_ms'), 0)} "
                  f"| {fmt(t.get('ttft_ms'), 0)} | {fmt(m.get('peak_gb'), 1)} "
                  f"| {fmt(t.get('peak_gb'), 1)} | {m['note'] or t.get('note', '')} |")
    long = [r for r in rows if r["section"] == "long prompt"]
    if long and sel:
        print("\n### per-token latency vs prompt length, batch 1, ms\n")
        print(f"| size | model | state | prompt {sel[0]['prompt']} | prompt {long[0]['prompt']} "
              f"| ratio | note |")
        print("|---|---|---|---|---|---|---|")
        for r in long:
            short = by.get(("throughput", r["size"], r["model"], r["state"], 1, sel[0]["prompt"]),
                           {})
            ratio = (r["ms_per_token"] / short["ms_per_token"]
                     if "ms_per_token" in r and "ms_per_token" in short else None)
            print(f"| {r['size']} | {r['model']} | {r['state']} "
                  f"| {fmt(short.get('ms_per_token'), 3)} "
                  f"| {fmt(r.get('ms_per_token'), 3)} | {fmt(ratio)} | {r['note']} |")
    audio = [r for r in rows if r["section"] == "audio"]
    if audio:
        print("\n### audio: SC09-sized Mamba, 16 kHz mu-law, sampled (temperature 1)\n")
        print("| params M | batch | ms/token | s per generated second (whole batch) "
              "| s per clip-second (/ batch) |")
        print("|---|---|---|---|---|")
        for r in audio:
            print(f"| {r['params_M']} | {r['batch']} | {fmt(r['ms_per_token'], 3)} "
                  f"| {fmt(r['s_per_audio_s'])} | {fmt(r['s_per_audio_s'] / r['batch'], 3)} |")
    peer = [r for r in rows if r["section"] == "vs mamba_ssm"]
    if peer:
        print(f"\n### vs mamba_ssm's generate(cg=True), same weights, greedy, prompt "
              f"{peer[0]['prompt']}, {peer[0]['new_tokens']} new tokens (ratio: ours tok/s / "
              f"theirs)\n")
        print("| size | batch | our state | ours ms/token | mamba_ssm ms/token | ours tok/s "
              "| mamba_ssm tok/s | ratio | note |")
        print("|---|---|---|---|---|---|---|---|---|")
        theirs = {(r["size"], r["batch"]): r for r in peer if r["model"] == "mamba_ssm"}
        for m in (r for r in peer if r["model"] != "mamba_ssm"):
            t = theirs.get((m["size"], m["batch"]), {})
            ratio = (m["tokens_per_s"] / t["tokens_per_s"]
                     if "tokens_per_s" in m and "tokens_per_s" in t else None)
            print(f"| {m['size']} | {m['batch']} | {m['state']} | {fmt(m.get('ms_per_token'), 3)} "
                  f"| {fmt(t.get('ms_per_token'), 3)} | {fmt(m.get('tokens_per_s'), 0)} "
                  f"| {fmt(t.get('tokens_per_s'), 0)} | {fmt(ratio)} | {t.get('note', m['note'])} |")
    steps = [r for r in rows if r["section"] == "step variants"]
    if steps:
        print("\n### step variants: one Mamba decoding step, ms (no sampling)\n")
        print("| size | batch | variant | state | ms/step |")
        print("|---|---|---|---|---|")
        for r in steps:
            print(f"| {r['size']} | {r['batch']} | {r['note']} | {r['state']} "
                  f"| {fmt(r['ms_per_token'], 3)} |")


def run_audio(rows: list[dict], batches: list[int], tokens: int, smoke: bool,
              device: torch.device) -> nn.Module:
    """Sampled generation with the SC09-sized Mamba; returns the model (for step variants)."""
    model = build("mamba", (32, 2) if smoke else (128, 48), device, 0, vocab=256)
    for batch in batches:
        ids = torch.randint(0, 256, (batch, 1), device=device)
        clock = Clock(device)
        generate(model, ids, tokens, temperature=1.0, seed=0, on_token=lambda i: clock.mark())
        ms = clock.elapsed(SKIP_TOKENS, tokens - 1) / (tokens - 1 - SKIP_TOKENS)
        rows.append({"section": "audio", "size": "SC09", "model": "mamba",
                     "params_M": round(n_params(model) / 1e6, 2), "batch": batch,
                     "ms_per_token": ms, "s_per_audio_s": ms * 16000 / 1e3, "note": ""})
        print(f"  audio batch {batch}: {ms:.3f} ms/token", flush=True)
    return model


def write_outputs(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    keys = ["section", "size", "model", "state", "params_M", "batch", "prompt", "new_tokens",
            "ttft_ms", "ms_per_token", "tokens_per_s", "s_per_audio_s", "peak_gb", "note"]
    with open(out / "generation.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        writer.writerows(rows)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not importable: no PNG")
        return
    sizes = sorted({r["size"] for r in rows if r["section"] == "throughput"})
    fig, axes = plt.subplots(1, len(sizes) + 1, figsize=(5 * (len(sizes) + 1), 4), squeeze=False)
    axes = axes[0]
    for ax, size in zip(axes, sizes):
        kinds = sorted({(r["model"], r.get("state", "")) for r in rows
                        if r["section"] == "throughput" and r["size"] == size})
        for kind, state in kinds:
            sel = [r for r in rows if r["section"] == "throughput" and r["size"] == size
                   and r["model"] == kind and r.get("state", "") == state and "tokens_per_s" in r]
            ax.plot([r["batch"] for r in sel], [r["tokens_per_s"] for r in sel], "o-",
                    label=f"{kind}, {state} state" if state else kind)
        ax.set(xscale="log", yscale="log", xlabel="batch", ylabel="tokens/s",
               title=f"{size}: generation throughput")
        ax.legend()
    long = [r for r in rows if r["section"] == "long prompt" and "ms_per_token" in r]
    labels = [f"{r['size']} {r['model'][:5]} {r['state'][:4]}\n{r['prompt'] // 1024}K"
              for r in long]
    axes[-1].bar(range(len(long)), [r["ms_per_token"] for r in long])
    axes[-1].set_xticks(range(len(long)), labels, fontsize=7)
    axes[-1].set(ylabel="ms per token (batch 1)", title="latency vs prompt length")
    fig.tight_layout()
    fig.savefig(out / "generation.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16, 64, 128])
    parser.add_argument("--prompt", type=int, default=2048)
    parser.add_argument("--long-prompt", type=int, default=32768)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--audio-tokens", type=int, default=2048)
    parser.add_argument("--audio-batches", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--variant-steps", type=int, default=200)
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS),
                        help="which sections to run (peer needs --peer)")
    parser.add_argument("--peer", action="store_true",
                        help="section 5: against mamba_ssm's generate(cg=True) (CUDA only)")
    parser.add_argument("--profile", action="store_true",
                        help="print the kernels of the largest Mamba's step at batch 1 and 64")
    parser.add_argument("--state-dtypes", nargs="+", default=["float32"],
                        choices=list(STATE_DTYPES),
                        help="our Mamba's scan-state dtype(s), each timed in every section")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-generation"))
    parser.add_argument("--smoke", action="store_true", help="tiny shapes: checks the script")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sizes = SMOKE_SIZES if args.smoke else {s: SIZES[s] for s in args.sizes}
    if args.smoke:
        args.batches, args.prompt, args.long_prompt = [1, 3], 16, 64
        args.new_tokens, args.audio_tokens, args.audio_batches = 6, 8, [1, 2]
        args.variant_steps = 3
    if device.type == "cuda":
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    sections = set(args.sections)
    rows: list[dict] = []
    variant_models = {}
    for size, (mamba_size, gpt_size) in sizes.items():
        models = {"mamba": build("mamba", mamba_size, device, 0)}
        if sections & {"throughput", "long"}:
            models["transformer"] = build("transformer", gpt_size, device,
                                          args.long_prompt + args.new_tokens)
        generate(models["mamba"], torch.zeros(1, 8, dtype=torch.long, device=device), 4)
        if "throughput" in sections:
            run_generation(rows, "throughput", models, size, args.batches, args.prompt,
                           args.new_tokens, device, args.state_dtypes)
        if "long" in sections:
            run_generation(rows, "long prompt", models, size, [1], args.long_prompt,
                           args.new_tokens, device, args.state_dtypes)
        if args.peer and "peer" in sections and device.type == "cuda":
            compare_with_peer(rows, models["mamba"], size, args.batches, args.prompt,
                              args.new_tokens, {s: STATE_DTYPES[s] for s in args.state_dtypes})
        if size == list(sizes)[-1]:
            variant_models[size] = models["mamba"]
        del models
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if "audio" in sections:
        variant_models["SC09"] = run_audio(rows, args.audio_batches, args.audio_tokens,
                                           args.smoke, device)
    if "variants" in sections:
        run_step_variants(rows, variant_models, [1, 64] if not args.smoke else [1],
                          args.variant_steps, device, args.state_dtypes)
    print_tables(rows)
    if args.profile and device.type == "cuda":
        for batch, state in ((b, s) for b in (1, 64) for s in args.state_dtypes):
            profile_step(variant_models[list(sizes)[-1]], batch, device, state)
    write_outputs(rows, args.out)
    print(f"\nwrote {args.out / 'generation.csv'}")


if __name__ == "__main__":
    main()
