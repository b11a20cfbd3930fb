"""Load a trained model from either kind of file a run writes: ``model.pt`` (core's model
file) or a Lightning training checkpoint (``*.ckpt``), both with ``weights_only=True``; or
from a Hugging Face / mamba_ssm model directory (core's ``load_model`` reads those).
Importing this module registers audiomamba's ``SaShiMiLM`` with core's model files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from mambaseq.core import ConfigError, MambaLM, ModelFileError, load_model

from .language_model import build_lm


def load_trained_model(path: str | Path, expect: type[nn.Module] | None = MambaLM
                       ) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode on the CPU, metadata with at least ``run_config``).

    ``expect``: the model class the caller needs (None: any language model). A Lightning
    checkpoint is rebuilt from the hyper-parameters the training module saved (a ``MambaLM``
    or a ``SaShiMiLM``). Errors name the file (``ModelFileError``).
    """
    path = Path(path)
    if path.is_dir() or path.suffix != ".ckpt":
        return load_model(path, expect=expect)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ModelFileError(f"{path}: cannot be read as a checkpoint ({type(err).__name__}: {err})") from err
    hparams = ckpt.get("hyper_parameters", {}) if isinstance(ckpt, dict) else {}
    if "model" not in hparams or "state_dict" not in ckpt:
        raise ModelFileError(f"{path}: not a mambaseq training checkpoint (no model hyper-parameters)")
    try:
        model = build_lm(hparams["model"], hparams.get("backbone"))
    except (ConfigError, TypeError, KeyError) as err:
        raise ModelFileError(f"{path}: bad model hyper-parameters: {err}") from err
    if expect is not None and not isinstance(model, expect):
        raise ModelFileError(f"{path}: holds a {type(model).__name__}, expected a {expect.__name__}")
    weights = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        raise ModelFileError(f"{path}: weights do not match the model its config describes: {err}") from err
    return model.eval(), {"run_config": hparams.get("run_config") or {}}
