"""Load a trained model from either kind of file a run writes: ``model.pt`` (core's model
file) or a Lightning training checkpoint (``*.ckpt``), both with ``weights_only=True``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from core import MambaConfig, MambaLM, ModelFileError, load_model


def load_trained_model(path: str | Path, expect: type[nn.Module] = MambaLM
                       ) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode on the CPU, metadata with at least ``run_config``).

    A Lightning checkpoint is rebuilt from the hyper-parameters the training module saved.
    Errors name the file (``ModelFileError``).
    """
    path = Path(path)
    if path.suffix != ".ckpt":
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
    if expect is not MambaLM:
        raise ModelFileError(f"{path}: training checkpoints of language models only; "
                             f"use the run's model.pt")
    model = MambaLM(MambaConfig.from_dict(hparams["model"]))
    weights = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        raise ModelFileError(f"{path}: weights do not match the model its config describes: {err}") from err
    return model.eval(), {"run_config": hparams.get("run_config") or {}}
