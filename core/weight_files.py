"""The weight files of a Hugging Face style model directory, read and written without
transformers: ``model.safetensors`` or ``pytorch_model.bin``, whole or sharded (a
``*.index.json`` whose ``weight_map`` names the shard of every tensor). ``.bin`` files are
read with ``torch.load(weights_only=True)``: a file never runs code."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .errors import ModelFileError

SAFETENSORS = "model.safetensors"
TORCH_BIN = "pytorch_model.bin"
INDEX_SUFFIX = ".index.json"


def weight_files(directory: Path) -> list[Path]:
    """The files that hold the weights of ``directory``: safetensors before ``.bin``, one
    file before a sharded index. Raises ``ModelFileError`` when there is none, or when an
    index names a shard that is not there."""
    for name in (SAFETENSORS, TORCH_BIN):
        if (directory / name).is_file():
            return [directory / name]
        index = directory / (name + INDEX_SUFFIX)
        if index.is_file():
            return _shards(index)
    raise ModelFileError(f"{directory}: no weight file ({SAFETENSORS}, {TORCH_BIN}, or a "
                         f"sharded {SAFETENSORS}{INDEX_SUFFIX} / {TORCH_BIN}{INDEX_SUFFIX})")


def _shards(index: Path) -> list[Path]:
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
        names = sorted(set(weight_map.values()))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ModelFileError(f"{index}: not a shard index (no weight_map: {err})") from err
    shards = [index.parent / name for name in names]
    missing = [shard.name for shard in shards if not shard.is_file()]
    if missing:
        raise ModelFileError(f"{index}: names shard(s) that are not there: {', '.join(missing)}")
    return shards


def read_weights(directory: Path, map_location: str | torch.device = "cpu"
                 ) -> dict[str, torch.Tensor]:
    """Every tensor of the directory's weight files, by name, as stored (any dtype)."""
    tensors: dict[str, torch.Tensor] = {}
    for file in weight_files(directory):
        tensors.update(_read_file(file, map_location))
    return tensors


def _read_file(file: Path, map_location: str | torch.device) -> dict[str, torch.Tensor]:
    try:
        if file.name.endswith(".safetensors"):
            return load_file(file, device=str(map_location))
        state = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle errors, truncated files, files that would run code
        raise ModelFileError(f"{file}: cannot be read as weights ({type(err).__name__}: "
                             f"{err})") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFileError(f"{file}: not a state dict (a mapping of names to tensors)")
    return state


def write_safetensors(tensors: dict[str, torch.Tensor], path: Path) -> Path:
    """Write ``tensors`` (distinct tensors: safetensors refuses shared storage) to ``path``
    with the ``format: pt`` metadata that transformers checks."""
    save_file({name: t.detach().cpu().contiguous() for name, t in tensors.items()}, path,
              metadata={"format": "pt"})
    return path
