"""Mamba models, knowing nothing of DNA or audio: config, mixer, backbone, heads, the recurrent
inference cache, generation and model files."""
from .bidirectional import BidirectionalBackbone, BidirectionalClassifier
from .cache import InferenceCache
from .checkpoint import (ModelFileError, load_model, model_from_payload, model_payload,
                         register_model_class, save_model)
from .config import ConfigError, MambaConfig
from .decoding import StepRunner, decode_step, graph_period, prefill
from .generate import filter_logits, generate, sample
from .mixer import MambaMixer, MixerState, StepConstants
from .model import MambaBackbone, MambaClassifier, MambaLM, ResidualBlock, RMSNorm
from .pooling import BIDIRECTIONAL_POOLINGS, POOLINGS, pool

__all__ = ["MambaConfig", "ConfigError", "MambaMixer", "MixerState", "StepConstants",
           "ResidualBlock", "RMSNorm", "MambaBackbone", "MambaLM", "MambaClassifier",
           "InferenceCache", "generate", "filter_logits", "sample", "StepRunner", "decode_step",
           "graph_period", "prefill", "save_model", "load_model", "model_payload",
           "model_from_payload", "ModelFileError", "register_model_class", "pool", "POOLINGS",
           "BIDIRECTIONAL_POOLINGS", "BidirectionalBackbone", "BidirectionalClassifier"]
