"""The Mamba mixer (the paper's Figure 3 block): in_proj -> causal conv -> selective SSM,
gated by a SiLU branch -> out_proj. One screen: parameters, their initialisation, the
parallel forward and the one-token step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from mambaseq.kernels import (causal_conv1d, causal_conv1d_update, decode_linear, selective_scan,
                              selective_state_update)

from .config import MambaConfig
from .projections import IntoChannels, channel_matrix, from_matrix
from .recompute import recomputed


# The scan state's dtypes a decoding cache may hold, by name (CLI and benchmark choices).
STATE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class StepConstants:
    """The tensors a decoding step would otherwise recompute every token: float32 A, D and
    Δ's bias; Δ's projection as stored (the step computes Δ in float32 from it)."""

    A: torch.Tensor            # (d_inner, d_state), -exp(A_log)
    D: torch.Tensor            # (d_inner,)
    dt_weight: torch.Tensor    # (d_inner, dt_rank), Δ's projection, the parameter's dtype
    dt_bias: torch.Tensor      # (d_inner,)


@dataclass
class MixerState:
    """What one mixer carries between tokens (or between chunks of a long sequence).

    conv: (batch, d_inner, d_conv - 1), the last inputs of the causal conv, activation dtype.
    ssm: (batch, d_inner, d_state), the selective scan's state h: float32, or bfloat16 for
    decoding with half the state memory and traffic (the arithmetic stays float32; see
    ``allocate_state``).
    """

    conv: torch.Tensor
    ssm: torch.Tensor


class MambaMixer(nn.Module):
    """Selective SSM mixer: (batch, length, d_model) -> (batch, length, d_model).

    ``recompute_core`` (default True): in training, keep only in_proj's output (2 * d_inner
    values a token) for the backward pass and recompute the conv, Δ, B, C and the scan's
    saved states there (``core.recompute``), as mamba_ssm's fused block does; outputs
    and gradients are the same either way. False keeps every intermediate (several times the
    memory, no recomputation). Whole-mixer activation checkpointing can be added on top.
    """

    recompute_core: bool = True

    def __init__(self, config: MambaConfig) -> None:
        super().__init__()
        self.config = config
        d_inner, n, rank = config.d_inner, config.d_state, config.resolved_dt_rank
        # in_proj maps a sequence straight into the channel-major layout of conv and scan
        self.in_proj = IntoChannels(config.d_model, 2 * d_inner, bias=config.proj_bias)
        # Depthwise causal conv over time; weight kept as (d_inner, d_conv) for the kernels.
        self.conv_weight = nn.Parameter(torch.empty(d_inner, config.d_conv))
        self.conv_bias = nn.Parameter(torch.zeros(d_inner)) if config.conv_bias else None
        # Input-dependent Δ (low rank), B and C: the "selection" of the paper. The LTI ablation
        # replaces the projection by one learned constant (Δ's low-rank code, B, C).
        if config.selective:
            self.x_proj = nn.Linear(d_inner, rank + 2 * n, bias=False)
        else:
            self.lti_selection = nn.Parameter(torch.empty(rank + 2 * n))
        self.dt_proj = nn.Linear(rank, d_inner, bias=True)
        self.A_log = nn.Parameter(torch.empty(d_inner, n))
        self.D = nn.Parameter(torch.empty(d_inner))
        self.out_proj = nn.Linear(d_inner, config.d_model, bias=config.proj_bias)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The paper's initialisation.

        - conv: PyTorch's Conv1d default (uniform in +-1/sqrt(fan_in)), bias 0.
        - dt_proj.weight ~ U(+-dt_rank^-0.5), so Δ's pre-activation starts near its bias;
          dt_proj.bias = softplus^-1(dt), dt log-uniform in [dt_min, dt_max] (floored at
          dt_init_floor): each channel starts with its own time scale.
        - A = -exp(A_log) with A_log[d, n] = log(n + 1): S4D-real, A_n = -(n + 1).
        - D = 1: the skip connection starts as identity.
        - LTI ablation (``selective=False``): Δ's code 0, so Δ = softplus(dt_proj.bias) exactly
          as the selective model starts; B = 1 and C ~ N(0, 1) (S4D's real initialisation).
        - out_proj rescaled by 1/sqrt(n_layer) (GPT-2's residual scaling), one residual
          branch per layer, so the residual stream's variance does not grow with depth.
        """
        cfg = self.config
        bound = 1 / math.sqrt(cfg.d_conv)
        self.conv_weight.uniform_(-bound, bound)
        if self.conv_bias is not None:
            self.conv_bias.zero_()
        std = cfg.resolved_dt_rank ** -0.5
        self.dt_proj.weight.uniform_(-std, std)
        dt = torch.exp(torch.rand(cfg.d_inner) * (math.log(cfg.dt_max) - math.log(cfg.dt_min))
                       + math.log(cfg.dt_min)).clamp(min=cfg.dt_init_floor)
        self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))     # inverse softplus
        self.A_log.copy_(torch.log(torch.arange(1, cfg.d_state + 1, dtype=torch.float32))
                         .repeat(cfg.d_inner, 1))
        self.D.fill_(1.0)
        if not cfg.selective:
            dt_code, B, C = self.lti_selection.split([cfg.resolved_dt_rank, cfg.d_state, cfg.d_state])
            dt_code.zero_()
            B.fill_(1.0)
            C.normal_()
        linear_layers = (self.in_proj, self.x_proj, self.out_proj) if cfg.selective else (
            self.in_proj, self.out_proj)
        for linear in linear_layers:
            linear.reset_parameters()
            if linear.bias is not None:
                linear.bias.zero_()
        self.out_proj.weight.div_(math.sqrt(cfg.n_layer))

    def no_weight_decay(self) -> list[nn.Parameter]:
        """Parameters that weight decay must not pull towards zero (A_log, D, biases)."""
        params = [self.A_log, self.D, self.dt_proj.bias]
        if not self.config.selective:
            params.append(self.lti_selection)
        params += [p for p in (self.conv_bias, self.in_proj.bias, self.out_proj.bias) if p is not None]
        return params

    def allocate_state(self, batch_size: int, dtype: torch.dtype, device: torch.device,
                       state_dtype: torch.dtype = torch.float32) -> MixerState:
        """Zero state for ``batch_size`` sequences: conv in ``dtype``, ssm in ``state_dtype``.
        A bfloat16 ssm state (as mamba_ssm's decoding keeps it for a bf16 model) halves what a
        decoding step reads and writes; each step still computes in float32 and rounds the new
        state once, so long generations drift from the float32 state's by bf16 rounding."""
        if state_dtype not in STATE_DTYPES.values():
            raise ValueError(f"state_dtype must be one of {', '.join(STATE_DTYPES)}, "
                             f"got {state_dtype}")
        cfg = self.config
        return MixerState(conv=torch.zeros(batch_size, cfg.d_inner, cfg.d_conv - 1, dtype=dtype, device=device),
                          ssm=torch.zeros(batch_size, cfg.d_inner, cfg.d_state, dtype=state_dtype,
                                          device=device))

    def _delta(self, dt_low: torch.Tensor) -> torch.Tensor:
        """Δ before bias and softplus, from its low-rank code (..., rank) -> (..., d_inner);
        computed in float32 even under autocast: Δ sets the decay exp(Δ·A)."""
        if not torch.is_autocast_enabled(dt_low.device.type):    # no context to enter per token
            return F.linear(dt_low.float(), self.dt_proj.weight.float())
        with torch.autocast(device_type=dt_low.device.type, enabled=False):
            return F.linear(dt_low.float(), self.dt_proj.weight.float())

    def _delta_channels(self, dt_low: torch.Tensor) -> torch.Tensor:
        """``_delta`` for a channel-major code (batch, rank, length) -> (batch, d_inner,
        length) float32, channel-major (``core.projections``)."""
        with torch.autocast(device_type=dt_low.device.type, enabled=False):
            delta = self.dt_proj.weight.float() @ channel_matrix(dt_low).float()
        return from_matrix(delta, dt_low.shape[0])

    def selection(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Δ's low-rank code, B and C for the conv output x (..., d_inner), channels last:
        (..., dt_rank), (..., d_state), (..., d_state) in x's dtype. Selective: projections
        of x. LTI ablation: one learned constant broadcast over the leading dims (time
        included), so they do not depend on x at all. x_proj runs as a decoding step's
        product (``kernels.decode_linear``: ``F.linear`` but for a few rows on the GPU)."""
        cfg = self.config
        sizes = [cfg.resolved_dt_rank, cfg.d_state, cfg.d_state]
        if cfg.selective:
            return decode_linear(x, self.x_proj.weight, self.x_proj.bias).split(sizes, dim=-1)
        const = self.lti_selection.to(x.dtype).expand(*x.shape[:-1], -1)
        return const.split(sizes, dim=-1)

    def _selection_channels(self, x: torch.Tensor
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``selection`` for a channel-major x (batch, d_inner, length): (batch, dt_rank,
        length), (batch, d_state, length) twice, channel-major, in x's dtype (the autocast
        dtype under autocast)."""
        cfg = self.config
        sizes = [cfg.resolved_dt_rank, cfg.d_state, cfg.d_state]
        if cfg.selective:
            proj = from_matrix(self.x_proj.weight @ channel_matrix(x), x.shape[0])
        else:
            proj = self.lti_selection.to(x.dtype)[None, :, None].expand(
                x.shape[0], -1, x.shape[2])
        return proj.split(sizes, dim=1)

    def forward(self, hidden: torch.Tensor, state: MixerState | None = None,
                cu_seqlens: torch.Tensor | None = None) -> torch.Tensor:
        """hidden (batch, length, d_model) -> (batch, length, d_model), same dtype.

        With ``state``, the sequence continues from it and ``state`` is set to the state at the
        end of ``hidden`` (prefill for generation, or one chunk of a longer sequence); its
        tensors are replaced, not overwritten, so autograd can flow through the old ones.
        With ``cu_seqlens`` (batch 1, no state), ``hidden`` holds several sequences back to
        back and each is mixed as if alone (see ``kernels.varlen``).
        """
        if state is not None and cu_seqlens is not None:
            raise ValueError("MambaMixer: packed sequences (cu_seqlens) cannot continue a state")
        batch = hidden.shape[0]
        xz = self.in_proj(hidden)                                     # (b, 2 d_inner, l)
        conv_in, ssm_in = (None, None) if state is None else (state.conv, state.ssm.float())
        if self.recompute_core and torch.is_grad_enabled():
            y, conv_out, ssm_out = recomputed(self._core, (xz, conv_in, ssm_in, cu_seqlens),
                                              self._core_params())
        else:
            y, conv_out, ssm_out = self._core(xz, conv_in, ssm_in, cu_seqlens)
        if state is not None:
            state.conv, state.ssm = conv_out, ssm_out.to(state.ssm.dtype)
        out = self.out_proj(channel_matrix(y).t())          # reads the transposed view in place
        return out.view(batch, -1, out.shape[-1])

    def _core_params(self) -> list[nn.Parameter]:
        """The parameters ``_core`` reads: all but in_proj's and out_proj's."""
        return [p for name, p in self.named_parameters()
                if not name.startswith(("in_proj.", "out_proj."))]

    def _core(self, xz: torch.Tensor, conv_state: torch.Tensor | None,
              ssm_state: torch.Tensor | None, cu_seqlens: torch.Tensor | None
              ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Conv, selection and gated scan: in_proj's output xz (batch, 2 * d_inner, length),
        channel-major (``core.projections``) -> y (batch, d_inner, length) in xz's dtype,
        channel-major, and the conv window and ssm state at the end (None when
        ``conv_state``/``ssm_state`` are None: no state carried). Every tensor between the
        projections keeps each channel's steps adjacent, so nothing is transposed."""
        d_inner = self.config.d_inner
        x, z = xz[:, :d_inner], xz[:, d_inner:]
        carry = conv_state is not None
        x = causal_conv1d(x, self.conv_weight, self.conv_bias, "silu", initial_state=conv_state,
                          return_final_state=carry, cu_seqlens=cu_seqlens)
        if carry:
            x, conv_state = x
        dt_low, B, C = self._selection_channels(x)
        delta = self._delta_channels(dt_low)                          # (b, d_inner, l) float32
        A = -torch.exp(self.A_log.float())
        y = selective_scan(x, delta, A, B, C, self.D.float(), z,
                           delta_bias=self.dt_proj.bias.float(), delta_softplus=True,
                           initial_state=ssm_state, return_final_state=carry,
                           cu_seqlens=cu_seqlens)
        if carry:
            y, ssm_state = y
        return y, conv_state, ssm_state

    def step_constants(self) -> StepConstants:
        """The tensors every decoding step needs, computed once: valid while the weights do
        not change (a decoder computes them before its first token)."""
        return StepConstants(A=-torch.exp(self.A_log.float()), D=self.D.float(),
                             dt_weight=self.dt_proj.weight.detach(),
                             dt_bias=self.dt_proj.bias.float())

    def step(self, hidden: torch.Tensor, state: MixerState,
             constants: StepConstants | None = None) -> torch.Tensor:
        """One token: hidden (batch, d_model) -> (batch, d_model); ``state`` advanced in place.
        O(1) time and memory in the sequence length. ``constants`` (``step_constants()``)
        spare recomputing them every token; the arithmetic is the same."""
        const = constants if constants is not None else self.step_constants()
        x, z = decode_linear(hidden, self.in_proj.weight, self.in_proj.bias).chunk(2, dim=-1)
        x = causal_conv1d_update(x, state.conv, self.conv_weight, self.conv_bias, "silu")
        dt_low, B, C = self.selection(x)
        y = selective_state_update(state.ssm, x, dt_low, const.A, B, C, const.D, z,
                                   delta_bias=const.dt_bias, delta_softplus=True,
                                   dt_weight=const.dt_weight)      # Δ in float32 from its code
        return decode_linear(y, self.out_proj.weight, self.out_proj.bias)
