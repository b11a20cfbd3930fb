"""Mamba models, knowing nothing of DNA or audio: config, mixer, backbone, heads, the recurrent
inference cache, generation and model files (the project's own, and the Mamba ecosystem's
Hugging Face and mamba_ssm directories)."""
from mambaseq.kernels.norm_reference import at_least_float32

from .bidirectional import BidirectionalBackbone, BidirectionalClassifier
from .cache import InferenceCache
from .checkpoint import (ModelFileError, config_differences, init_weights_from, load_model,
                         model_from_payload, model_payload, register_model_class, save_model)
from .config import ConfigError, MambaConfig
from .decoding import StepRunner, decode_step, graph_period, prefill
from .generate import filter_logits, generate, sample
from .interop import export_model, load_directory
from .mixer import STATE_DTYPES, MambaMixer, MixerState, StepConstants
from .model import MambaBackbone, MambaClassifier, MambaLM, ResidualBlock, RMSNorm
from .pooling import BIDIRECTIONAL_POOLINGS, POOLINGS, pool

__all__ = ["MambaConfig", "ConfigError", "MambaMixer", "MixerState", "StepConstants",
           "STATE_DTYPES",
           "ResidualBlock", "RMSNorm", "MambaBackbone", "MambaLM", "MambaClassifier",
           "InferenceCache", "generate", "filter_logits", "sample", "StepRunner", "decode_step",
           "graph_period", "prefill", "save_model", "load_model", "model_payload",
           "model_from_payload", "ModelFileError", "register_model_class", "pool", "POOLINGS",
           "BIDIRECTIONAL_POOLINGS", "BidirectionalBackbone", "BidirectionalClassifier",
           "export_model", "load_directory", "init_weights_from", "config_differences",
           "at_least_float32"]
