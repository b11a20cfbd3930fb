"""``config.json`` of the Mamba ecosystem <-> ``MambaConfig``, both ways, for the two formats
everyone loads: Hugging Face transformers' ``MambaConfig`` (``model_type: mamba``) and
mamba_ssm's ``MambaConfig`` dataclass (``d_model``, ``n_layer``, ``ssm_cfg``, ...). What a
``MambaLM`` cannot be is refused with a ``ModelFileError`` that names it: LayerNorm blocks,
Mamba-2 or -3 layers, attention or MLP layers, another activation than SiLU, another
architecture; and, the other way, the LTI ablation, which neither format can hold.

Keys a config leaves out take that library's defaults (transformers' ``save_pretrained`` drops
some that equal them, and older mamba_ssm configs lack the later fields). Initialisation-only
keys (dt_init, time_step_scale, initializer_range, ...) do not change the model and are
ignored."""
from __future__ import annotations

import math
from typing import Any

from .config import ConfigError, MambaConfig
from .errors import ModelFileError

FORMATS = ("hf", "mamba_ssm")

# transformers' MambaConfig defaults (models/mamba/configuration_mamba.py) for what is read.
HF_DEFAULTS: dict[str, Any] = {
    "vocab_size": 50280, "hidden_size": 768, "state_size": 16, "num_hidden_layers": 32,
    "layer_norm_epsilon": 1e-5, "expand": 2, "conv_kernel": 4, "use_bias": False,
    "use_conv_bias": True, "hidden_act": "silu", "time_step_rank": "auto",
    "time_step_min": 1e-3, "time_step_max": 0.1, "time_step_floor": 1e-4,
    "tie_word_embeddings": True}
# mamba_ssm's MambaConfig (models/config_mamba.py), every field.
SSM_DEFAULTS: dict[str, Any] = {
    "d_model": 2560, "d_intermediate": 0, "n_layer": 64, "vocab_size": 50277, "ssm_cfg": {},
    "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True,
    "fused_add_norm": True, "pad_vocab_size_multiple": 8, "tie_embeddings": True}
# mamba_ssm's Mamba mixer arguments (modules/mamba_simple.py) that ssm_cfg may set.
MIXER_DEFAULTS: dict[str, Any] = {
    "d_state": 16, "d_conv": 4, "expand": 2, "dt_rank": "auto", "dt_min": 1e-3, "dt_max": 0.1,
    "dt_init_floor": 1e-4, "conv_bias": True, "bias": False}
MIXER_INIT_ONLY = ("dt_init", "dt_scale", "use_fast_path")
SSM_NORM_EPS = 1e-5          # mamba_ssm's norm_epsilon: a MixerModel argument, no config field


def refuse(source: str, what: str) -> ModelFileError:
    """The error for a model this project cannot represent; ``what`` names the feature."""
    return ModelFileError(f"{source}: {what} cannot be represented by mambaseq's MambaLM")


def directory_format(raw: dict[str, Any], source: str) -> str:
    """"hf" or "mamba_ssm": the format a parsed ``config.json`` is written in."""
    if "model_type" in raw:
        return "hf"
    if "d_model" in raw and "n_layer" in raw:
        return "mamba_ssm"
    raise ModelFileError(f"{source}: config.json is neither a Hugging Face config (no "
                         f"model_type) nor a mamba_ssm one (no d_model and n_layer)")


def _dt_rank(rank: Any, d_model: Any) -> Any:
    """None (this project's "ceil(d_model / 16)") for "auto" or that very rank, so that a
    config read back after an export equals the one exported."""
    default = math.ceil(d_model / 16) if isinstance(d_model, int) else None
    return None if rank in ("auto", default) else rank


def _make(source: str, **values: Any) -> MambaConfig:
    try:
        return MambaConfig(**values)
    except (ConfigError, TypeError) as err:
        raise ModelFileError(f"{source}: bad config.json: {err}") from err


def config_from_hf(raw: dict[str, Any], source: str) -> MambaConfig:
    """The ``MambaConfig`` of a transformers ``MambaForCausalLM`` config. Its vocabulary is
    stored unpadded (as many embedding rows as ``vocab_size``)."""
    model_type = raw.get("model_type")
    if model_type == "mamba2":
        raise refuse(source, "Mamba-2 layers (model_type 'mamba2')")
    if model_type != "mamba":
        raise refuse(source, f"the architecture model_type {model_type!r} (architectures "
                             f"{raw.get('architectures')}; readable: 'mamba', MambaForCausalLM)")
    cfg = {**HF_DEFAULTS, **raw}
    if cfg["hidden_act"] != "silu":
        raise refuse(source, f"the activation hidden_act {cfg['hidden_act']!r} (Mamba's is silu)")
    d_model, expand = cfg["hidden_size"], cfg["expand"]
    inner = cfg.get("intermediate_size", expand * d_model)
    if inner != expand * d_model:
        if not isinstance(inner, int) or inner % d_model:
            raise refuse(source, f"intermediate_size {inner} (not a multiple of hidden_size "
                                 f"{d_model})")
        expand = inner // d_model
    vocab = cfg["vocab_size"]
    return _make(source, d_model=d_model, n_layer=cfg["num_hidden_layers"], vocab_size=vocab,
                 d_state=cfg["state_size"], d_conv=cfg["conv_kernel"], expand=expand,
                 dt_rank=_dt_rank(cfg["time_step_rank"], d_model), dt_min=cfg["time_step_min"],
                 dt_max=cfg["time_step_max"], dt_init_floor=cfg["time_step_floor"],
                 conv_bias=cfg["use_conv_bias"], proj_bias=cfg["use_bias"],
                 norm_eps=cfg["layer_norm_epsilon"], tie_embeddings=cfg["tie_word_embeddings"],
                 pad_vocab_multiple=8 if isinstance(vocab, int) and vocab % 8 == 0 else 1)


def config_from_mamba_ssm(raw: dict[str, Any], source: str) -> MambaConfig:
    """The ``MambaConfig`` of a mamba_ssm ``MambaLMHeadModel`` config. Its vocabulary is
    padded to ``pad_vocab_size_multiple`` exactly as this project pads it."""
    unknown = sorted(set(raw) - set(SSM_DEFAULTS))
    if unknown:
        raise refuse(source, f"the unknown mamba_ssm config key(s) {', '.join(unknown)}")
    cfg = {**SSM_DEFAULTS, **raw}
    if not cfg["rms_norm"]:
        raise refuse(source, "LayerNorm (rms_norm: false; mambaseq's blocks use RMSNorm)")
    if cfg["attn_layer_idx"]:
        raise refuse(source, f"attention layers (attn_layer_idx {cfg['attn_layer_idx']})")
    if cfg["d_intermediate"]:
        raise refuse(source, f"MLP layers after the mixers (d_intermediate "
                             f"{cfg['d_intermediate']})")
    mixer = dict(cfg["ssm_cfg"] or {})
    layer = mixer.pop("layer", "Mamba1")
    if layer in ("Mamba2", "Mamba3"):
        raise refuse(source, f"{layer[:-1]}-{layer[-1]} layers (ssm_cfg.layer {layer!r})")
    if layer != "Mamba1":
        raise refuse(source, f"the mixer ssm_cfg.layer {layer!r}")
    unknown = sorted(set(mixer) - set(MIXER_DEFAULTS) - set(MIXER_INIT_ONLY))
    if unknown:
        raise refuse(source, f"the unknown ssm_cfg key(s) {', '.join(unknown)}")
    m = {**MIXER_DEFAULTS, **mixer}
    return _make(source, d_model=cfg["d_model"], n_layer=cfg["n_layer"],
                 vocab_size=cfg["vocab_size"], d_state=m["d_state"], d_conv=m["d_conv"],
                 expand=m["expand"], dt_rank=_dt_rank(m["dt_rank"], cfg["d_model"]),
                 dt_min=m["dt_min"], dt_max=m["dt_max"], dt_init_floor=m["dt_init_floor"],
                 conv_bias=m["conv_bias"], proj_bias=m["bias"], norm_eps=SSM_NORM_EPS,
                 tie_embeddings=cfg["tie_embeddings"],
                 pad_vocab_multiple=cfg["pad_vocab_size_multiple"])


def check_exportable(config: MambaConfig, fmt: str) -> None:
    """Raise ``ModelFileError`` if ``fmt`` cannot hold a model of ``config``."""
    if fmt not in FORMATS:
        raise ModelFileError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    if not config.selective:
        raise ModelFileError(f"the LTI ablation (model.selective=false: Δ, B, C learned "
                             f"constants) has no counterpart in the {fmt} format, whose mixers "
                             f"always project Δ, B, C from the input")
    if fmt == "mamba_ssm" and not math.isclose(config.norm_eps, SSM_NORM_EPS):
        raise ModelFileError(f"model.norm_eps is {config.norm_eps}; mamba_ssm's "
                             f"MambaLMHeadModel always uses {SSM_NORM_EPS} (no config field)")


def hf_config(config: MambaConfig) -> dict[str, Any]:
    """transformers' ``config.json`` for ``MambaForCausalLM`` holding ``config``'s model, with
    ``vocab_size`` = the padded embedding rows (logits of the real tokens come first). Token
    ids of pad/bos/eos are not known here and are left null."""
    return {
        "architectures": ["MambaForCausalLM"], "model_type": "mamba",
        "vocab_size": config.padded_vocab_size, "hidden_size": config.d_model,
        "state_size": config.d_state, "num_hidden_layers": config.n_layer,
        "expand": config.expand, "intermediate_size": config.d_inner,
        "conv_kernel": config.d_conv, "use_bias": config.proj_bias,
        "use_conv_bias": config.conv_bias, "hidden_act": "silu",
        "time_step_rank": config.resolved_dt_rank, "time_step_min": config.dt_min,
        "time_step_max": config.dt_max, "time_step_floor": config.dt_init_floor,
        "layer_norm_epsilon": config.norm_eps, "residual_in_fp32": True,
        "tie_word_embeddings": config.tie_embeddings,
        "pad_token_id": None, "bos_token_id": None, "eos_token_id": None}


def mamba_ssm_config(config: MambaConfig) -> dict[str, Any]:
    """mamba_ssm's ``config.json`` (every field of its MambaConfig dataclass, as its
    ``save_pretrained`` writes them) for ``config``'s model; ``ssm_cfg`` leaves ``layer`` at
    its default, Mamba1."""
    return {
        "d_model": config.d_model, "d_intermediate": 0, "n_layer": config.n_layer,
        "vocab_size": config.vocab_size,
        "ssm_cfg": {"d_state": config.d_state, "d_conv": config.d_conv,
                    "expand": config.expand, "dt_rank": config.resolved_dt_rank,
                    "dt_min": config.dt_min, "dt_max": config.dt_max,
                    "dt_init_floor": config.dt_init_floor, "conv_bias": config.conv_bias,
                    "bias": config.proj_bias},
        "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True,
        "fused_add_norm": True, "pad_vocab_size_multiple": config.pad_vocab_multiple,
        "tie_embeddings": config.tie_embeddings}
