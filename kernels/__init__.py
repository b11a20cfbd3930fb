"""The math at the bottom of every model: selective scan, its decoding step (and the step's
linear layers), the causal depthwise conv1d and RMSNorm. Import the ops from here; they
dispatch between Triton kernels (CUDA) and the exact PyTorch references (everywhere else).
Scan and conv take packed variable-length batches through ``cu_seqlens`` (``kernels.varlen``)."""
from .ops import (add_rms_norm, causal_conv1d, causal_conv1d_update, decode_linear, rms_norm,
                  selective_scan, selective_state_update)
from .varlen import cu_seqlens_from_lengths

__all__ = ["selective_scan", "selective_state_update", "decode_linear", "causal_conv1d",
           "causal_conv1d_update", "rms_norm", "add_rms_norm", "cu_seqlens_from_lengths"]
