"""Model files: one ``torch.save`` file holds the model class, its config and its weights,
so loading it alone rebuilds the model. Loaded with ``weights_only=True``: a file never runs
code. ``load_model`` also reads the Mamba ecosystem's model directories (``core.interop``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from .bidirectional import BidirectionalClassifier
from .config import ConfigError, MambaConfig
from .errors import ModelFileError
from .interop import load_directory, load_weights_checked
from .model import MambaClassifier, MambaLM

FORMAT = "mambaseq-model"
FORMAT_VERSION = 1
# The config keys that decide what a model's weights compute (shape, biases, ties, norm eps);
# the others only initialise it. dt_rank and the vocabulary padding are compared resolved.
FUNCTION_KEYS = ("d_model", "n_layer", "vocab_size", "d_state", "d_conv", "expand", "conv_bias",
                 "proj_bias", "norm_eps", "tie_embeddings", "selective")
MODEL_CLASSES: dict[str, type[nn.Module]] = {"MambaLM": MambaLM, "MambaClassifier": MambaClassifier,
                                             "BidirectionalClassifier": BidirectionalClassifier}


def register_model_class(cls: type[nn.Module]) -> type[nn.Module]:
    """Make ``cls`` known to ``save_model`` / ``load_model`` under its class name; usable as a
    class decorator. Packages above core (e.g. audiomamba's U-Net and digit classifier)
    register their models at import, so core never imports them. A model with a
    ``MambaConfig`` at ``.config`` is rebuilt as ``cls(config, **model.model_kwargs())``, any
    other as ``cls(**model.model_kwargs())``."""
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def model_payload(model: nn.Module, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``load_model`` needs, as plain Python and tensors (weights_only-safe)."""
    name = type(model).__name__
    if name not in MODEL_CLASSES:
        raise TypeError(f"cannot save a {name}: known model classes are {sorted(MODEL_CLASSES)}")
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "model_class": name,
            "config": _mamba_config(model), "model_kwargs": model.model_kwargs(),
            "state_dict": model.state_dict(), "extra": extra or {}}


def _mamba_config(model: nn.Module) -> dict[str, Any] | None:
    """The model's MambaConfig as a dict, or None for a model that has none (a classifier of
    audio clips, say)."""
    config = getattr(model, "config", None)
    return config.to_dict() if isinstance(config, MambaConfig) else None


def save_model(model: nn.Module, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path`` (parent folders created). ``extra``: plain-Python metadata
    kept beside the weights (the run's resolved config, the tokenizer, metrics)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model_payload(model, extra), path)
    return path


def model_from_payload(payload: dict[str, Any], source: str,
                       expect: type[nn.Module] | None = None) -> nn.Module:
    """Rebuild a model from a ``model_payload`` dict; errors name ``source`` (a file path)."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{source}: not a mambaseq model file (no '{FORMAT}' header)")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{source}: model file format version {version}, this mambaseq "
                             f"reads version {FORMAT_VERSION}")
    name = payload.get("model_class")
    if name not in MODEL_CLASSES:
        raise ModelFileError(f"{source}: unknown model class {name!r} (known: {sorted(MODEL_CLASSES)})")
    cls = MODEL_CLASSES[name]
    if expect is not None and cls is not expect:
        raise ModelFileError(f"{source}: holds a {name}, expected a {expect.__name__}")
    try:
        kwargs = payload.get("model_kwargs", {})
        if payload.get("config") is None:
            model = cls(**kwargs)
        else:
            model = cls(MambaConfig.from_dict(payload["config"]), **kwargs)
    except (ConfigError, TypeError) as err:
        raise ModelFileError(f"{source}: bad model config: {err}") from err
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:
        raise ModelFileError(f"{source}: weights do not match the {name} its config describes: "
                             f"{err}") from err
    return model


def load_model(path: str | Path, map_location: str | torch.device = "cpu",
               expect: type[nn.Module] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Read a file written by ``save_model``, or a directory in Hugging Face
    ``MambaForCausalLM`` or mamba_ssm ``MambaLMHeadModel`` format (a ``MambaLM``; see
    ``core.interop.load_directory``). Returns (model in eval mode, extra metadata).

    Raises ``ModelFileError`` naming the path when it is missing, unreadable, not a mambaseq
    model, of another format version, of another class than ``expect``, or inconsistent.
    """
    path = Path(path)
    if path.is_dir():
        model, extra = load_directory(path, map_location)
        if expect is not None and not isinstance(model, expect):
            raise ModelFileError(f"{path}: holds a MambaLM, expected a {expect.__name__}")
        return model, extra
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle errors, truncated files, files that would run code
        raise ModelFileError(f"{path}: cannot be read as a model file ({type(err).__name__}: {err})") from err
    model = model_from_payload(payload, str(path), expect)
    return model.eval(), payload.get("extra", {})


def config_differences(want: MambaConfig, have: MambaConfig) -> list[str]:
    """The keys of ``FUNCTION_KEYS`` (and the resolved dt_rank, padded vocabulary) in which
    ``have`` differs from ``want``, as "model.KEY is WANT in the config, HAVE there"."""
    pairs = [(f"model.{k}", getattr(want, k), getattr(have, k)) for k in FUNCTION_KEYS]
    pairs += [("model.dt_rank", want.resolved_dt_rank, have.resolved_dt_rank),
              ("the padded vocabulary (model.pad_vocab_multiple)", want.padded_vocab_size,
               have.padded_vocab_size)]
    return [f"{key} is {a!r} in the config, {b!r} there" for key, a, b in pairs if a != b]


def init_weights_from(model: nn.Module, source: nn.Module, name: str) -> None:
    """Copy the weights of ``source`` (a loaded model file or directory, named ``name`` in
    errors) into ``model``. Raises ``ModelFileError`` saying which config keys differ, or
    which tensors, when the two are not the same kind of model."""
    if type(source) is not type(model):
        raise ModelFileError(f"{name}: holds a {type(source).__name__}, the config builds a "
                             f"{type(model).__name__}")
    differences = config_differences(model.config, source.config)
    if differences:
        raise ModelFileError(f"{name}: its model differs from the config's: "
                             f"{'; '.join(differences)}")
    load_weights_checked(model, source.state_dict(), name, "the config's model")
