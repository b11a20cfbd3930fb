"""Model directories of the Mamba ecosystem, both ways, without transformers or mamba_ssm:

- read: a directory in Hugging Face transformers' ``MambaForCausalLM`` format (config.json +
  model.safetensors or pytorch_model.bin, sharded or not) or in mamba_ssm's
  ``MambaLMHeadModel`` format (config.json of its MambaConfig + pytorch_model.bin) becomes a
  ``MambaLM``;
- write: a ``MambaLM``, or a classifier's backbone, becomes such a directory (HF:
  model.safetensors; mamba_ssm: pytorch_model.bin, the only file its ``from_pretrained``
  reads), plus ``mambaseq.json``: the project's metadata (tokenizer, run config, the real
  vocabulary size, what was left out), which both libraries ignore.

Local paths only: nothing is downloaded. Tensor names are the same in all three but for the
embedding (HF: ``backbone.embeddings``) and the depthwise conv (theirs ``mixer.conv1d.weight``
(d_inner, 1, d_conv) and ``mixer.conv1d.bias``; here ``mixer.conv_weight`` (d_inner, d_conv)
and ``mixer.conv_bias``). Weights keep their dtype in files and load into the model's
(float32) parameters.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .bidirectional import BidirectionalClassifier
from .config import MambaConfig
from .ecosystem_config import (check_exportable, config_from_hf, config_from_mamba_ssm,
                               directory_format, hf_config, mamba_ssm_config)
from .errors import ModelFileError
from .model import MambaClassifier, MambaLM
from .weight_files import SAFETENSORS, TORCH_BIN, read_weights, write_safetensors

CONFIG_FILE = "config.json"
METADATA_FILE = "mambaseq.json"
EMBEDDING, HEAD = "backbone.embedding.weight", "lm_head.weight"
OUR_CONV = (".mixer.conv_weight", ".mixer.conv_bias")
THEIR_CONV = (".mixer.conv1d.weight", ".mixer.conv1d.bias")
SHOWN = 6                     # problems listed in a mismatch message


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ModelFileError(f"{path}: cannot be read as JSON ({err})") from err
    if not isinstance(value, dict):
        raise ModelFileError(f"{path}: not a JSON object")
    return value


def _to_our_names(weights: dict[str, torch.Tensor], fmt: str, source: str
                  ) -> dict[str, torch.Tensor]:
    """An HF or mamba_ssm state dict under this project's names (the conv squeezed)."""
    if fmt == "hf" and not any(name.startswith("backbone.") for name in weights):
        # saved from a bare MambaModel: its names lack the "backbone." prefix
        weights = {n if n.startswith("lm_head.") else "backbone." + n: t
                   for n, t in weights.items()}
    ours = {}
    for name, tensor in weights.items():
        name = name.replace("backbone.embeddings.", "backbone.embedding.")
        if name.endswith(THEIR_CONV[0]):
            if tensor.dim() != 3 or tensor.shape[1] != 1:
                raise ModelFileError(f"{source}: {name} has shape {tuple(tensor.shape)}, a "
                                     f"depthwise conv's is (d_inner, 1, d_conv)")
            name, tensor = name.replace(THEIR_CONV[0], OUR_CONV[0]), tensor[:, 0]
        ours[name.replace(THEIR_CONV[1], OUR_CONV[1])] = tensor
    return ours


def _to_their_names(state: dict[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    """This project's state dict under HF or mamba_ssm names (the conv unsqueezed)."""
    theirs = {}
    for name, tensor in state.items():
        if name.endswith(OUR_CONV[0]):
            name, tensor = name.replace(OUR_CONV[0], THEIR_CONV[0]), tensor.unsqueeze(1)
        name = name.replace(OUR_CONV[1], THEIR_CONV[1])
        if fmt == "hf":
            name = name.replace("backbone.embedding.", "backbone.embeddings.")
        theirs[name] = tensor
    return theirs


def load_weights_checked(model: nn.Module, weights: dict[str, torch.Tensor], source: str,
                         what: str) -> None:
    """``model.load_state_dict(weights)``, after a check that names every missing,
    unexpected or wrongly shaped tensor (the first few) against ``what`` (e.g. "its
    config.json")."""
    expected = model.state_dict()
    problems = [f"missing {n}" for n in expected if n not in weights]
    problems += [f"unexpected {n}" for n in weights if n not in expected]
    problems += [f"{n} is {tuple(weights[n].shape)}, {what} gives {tuple(t.shape)}"
                 for n, t in expected.items() if n in weights and weights[n].shape != t.shape]
    if problems:
        more = f" and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise ModelFileError(f"{source}: weights do not match {what}: "
                             f"{'; '.join(problems[:SHOWN])}{more}")
    model.load_state_dict(weights, strict=True)


def _real_vocab(config: MambaConfig, metadata: dict[str, Any]) -> MambaConfig:
    """The vocabulary ``mambaseq.json`` records (an HF export stores the padded rows as its
    vocab_size), when it still fits the embedding rows of ``config``."""
    vocab, pad = metadata.get("vocab_size"), metadata.get("pad_vocab_multiple")
    if not (isinstance(vocab, int) and isinstance(pad, int) and vocab >= 1 and pad >= 1):
        return config
    recorded = replace(config, vocab_size=vocab, pad_vocab_multiple=pad)
    return recorded if recorded.padded_vocab_size == config.padded_vocab_size else config


def load_directory(directory: str | Path, map_location: str | torch.device = "cpu"
                   ) -> tuple[MambaLM, dict[str, Any]]:
    """Read an HF or mamba_ssm model directory. Returns (``MambaLM`` in eval mode, metadata:
    ``mambaseq.json``'s ``extra`` when present, plus ``source_format`` "hf" | "mamba_ssm").

    Raises ``ModelFileError`` naming the directory when config.json or the weights are
    missing or unreadable, when the model is one a ``MambaLM`` cannot represent (the message
    names what), or when the weights do not match the config.
    """
    directory = Path(directory)
    if not (directory / CONFIG_FILE).is_file():
        raise ModelFileError(f"{directory}: no {CONFIG_FILE}: not a model directory")
    raw = _read_json(directory / CONFIG_FILE)
    fmt = directory_format(raw, str(directory))
    config = (config_from_hf if fmt == "hf" else config_from_mamba_ssm)(raw, str(directory))
    metadata = (_read_json(directory / METADATA_FILE)
                if (directory / METADATA_FILE).is_file() else {})
    config = _real_vocab(config, metadata)
    weights = _to_our_names(read_weights(directory, map_location), fmt, str(directory))
    if config.tie_embeddings and EMBEDDING in weights:
        weights[HEAD] = weights[EMBEDDING]       # one tensor; a stored copy is not used
    model = MambaLM(config)
    load_weights_checked(model, weights, str(directory), f"its {CONFIG_FILE}")
    extra = metadata.get("extra") if isinstance(metadata.get("extra"), dict) else {}
    return model.eval(), {**extra, "source_format": fmt}


def _left_out(model: nn.Module) -> str:
    """What a classifier's export does not carry, in words."""
    note = (f"the classification head (head.weight, head.bias: {model.num_classes} classes, "
            f"{model.pooling} pooling)")
    if isinstance(model, BidirectionalClassifier):
        strands = (", and the token involution that reads both strands"
                   if model.involution is not None else "")
        note += (f"; the bidirectional reading (each layer averaged its mixer over the "
                 f"sequence and its reverse{strands}): the exported model reads left to right")
    return note + "; lm_head is the tied embedding, never trained as a language-model head"


def exportable(model: nn.Module) -> tuple[MambaConfig, dict[str, torch.Tensor], str | None]:
    """(config, state dict under this project's names, what was left out or None) of the
    language model a ``MambaLM`` is, or that a classifier's backbone becomes."""
    if isinstance(model, MambaLM):
        return model.config, model.state_dict(), None
    if isinstance(model, (MambaClassifier, BidirectionalClassifier)):
        state = {f"backbone.{n}": t for n, t in model.backbone.state_dict().items()}
        state[HEAD] = state[EMBEDDING]
        return replace(model.config, tie_embeddings=True), state, _left_out(model)
    raise ModelFileError(f"a {type(model).__name__} has no counterpart in MambaForCausalLM or "
                         f"MambaLMHeadModel: MambaLM and the classifiers' backbones export")


def as_mamba_ssm(model: nn.Module) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(the fields of mamba_ssm's ``MambaConfig``, the state dict under its names) of a
    ``MambaLM`` (or a classifier's backbone), in memory: ``MambaLMHeadModel(MambaConfig(**c))
    .load_state_dict(state)`` gives the same model there. Tensors keep their dtype/device."""
    config, state, _ = exportable(model)
    check_exportable(config, "mamba_ssm")
    return mamba_ssm_config(config), _to_their_names(state, "mamba_ssm")


def export_model(model: nn.Module, out: str | Path, fmt: str,
                 extra: dict[str, Any] | None = None) -> tuple[list[Path], str | None]:
    """Write ``model`` into the new or empty directory ``out`` in format ``fmt`` ("hf":
    ``MambaForCausalLM.from_pretrained(out)`` loads it; "mamba_ssm":
    ``MambaLMHeadModel.from_pretrained(out)`` does), with ``extra`` (plain-Python metadata;
    values JSON cannot hold are written as strings) in ``mambaseq.json``.

    Returns (the files written, what a classifier's export left out or None). The real
    tokens' logits of the written model are this model's; HF's include the padded rows.
    """
    config, state, left_out = exportable(model)
    check_exportable(config, fmt)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ModelFileError(f"{out}: exists and is not an empty directory; export into a new "
                             f"or empty one")
    out.mkdir(parents=True, exist_ok=True)
    theirs = _to_their_names(state, fmt)
    if fmt == "hf":
        if config.tie_embeddings:
            del theirs[HEAD]                     # transformers ties it on load
        weights = write_safetensors(theirs, out / SAFETENSORS)
        their_config = hf_config(config)
    else:
        # torch.save keeps the tied head as one storage under both names, as mamba_ssm's
        # state_dict() has it
        weights = out / TORCH_BIN
        torch.save({n: t.detach().cpu() for n, t in theirs.items()}, weights)
        their_config = mamba_ssm_config(config)
    (out / CONFIG_FILE).write_text(json.dumps(their_config, indent=2) + "\n")
    metadata = {"written_by": "mambaseq export", "format": fmt, "vocab_size": config.vocab_size,
                "pad_vocab_multiple": config.pad_vocab_multiple, "left_out": left_out,
                "extra": extra or {}}
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    return [out / CONFIG_FILE, weights, out / METADATA_FILE], left_out
