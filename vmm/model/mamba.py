"""The Mamba (S6) mixer, with the parameters of `mamba_ssm.Mamba`, so state dicts move between them.

Parameters (d = d_model, e = expand * d, n = d_state, r = dt_rank, k = d_conv), as in mamba_ssm:
    in_proj.weight [2e, d]   conv1d.weight [e, 1, k]   conv1d.bias [e]   x_proj.weight [r + 2n, e]
    dt_proj.weight [e, r]    dt_proj.bias [e]          A_log [e, n]      D [e]    out_proj.weight [d, e]

Two training paths, chosen at the call site: on CUDA with mamba_ssm importable, its selective-scan and
causal_conv1d kernels (channels-first, "b e l"); everywhere else the chunked PyTorch scan of
`vmm.model.scan` (time-major, "b l e"). Decoding (`step`) is plain PyTorch on every device.

Einops letters: b batch, l time, d d_model, e inner channels, n SSM state, k conv taps, r dt rank
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from vmm.model.cache import MambaState
from vmm.model.causal_conv import causal_conv1d
from vmm.model.kernels import mamba_kernels
from vmm.model.scan import DEFAULT_CHUNK, selective_scan


class Mamba(nn.Module):
    """Selective state-space mixer: [b, l, d] -> [b, l, d].

    Args:
        d_model, d_state, d_conv, expand: sizes as in mamba_ssm.
        dt_rank: rank of the step-size projection (None = ceil(d_model / 16)).
        dt_min, dt_max, dt_init_floor, dt_scale: initial step sizes, as in mamba_ssm.
        kernel: "auto" (CUDA kernels when possible) or "torch".
        chunk_size: tokens per chunk of the PyTorch scan.
    """

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                 dt_rank: int | None = None, dt_min: float = 0.001, dt_max: float = 0.1,
                 dt_init_floor: float = 1e-4, dt_scale: float = 1.0, kernel: str = "auto",
                 chunk_size: int = DEFAULT_CHUNK):
        super().__init__()
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16) if dt_rank is None else dt_rank
        self.kernel, self.chunk_size = kernel, chunk_size
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)
        # S4D-real initialisation, A = -[1..n] for every channel; kept in fp32 like mamba_ssm.
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(self.d_inner, 1))
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.A_log._no_weight_decay = True
        self.D._no_weight_decay = True
        self._init_dt(dt_min, dt_max, dt_init_floor, dt_scale)

    def _init_dt(self, dt_min: float, dt_max: float, floor: float, scale: float) -> None:
        """dt_proj as in mamba_ssm: softplus(bias) log-uniform in [dt_min, dt_max]."""
        std = self.dt_rank**-0.5 * scale
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse of softplus
        self.dt_proj.bias._no_reinit = True

    def forward(self, x: Tensor, state: MambaState | None = None, offset: int = 0) -> Tensor:
        """Args: x [b, l, d]; state: filled in place (prefill), continuing from `offset` tokens.

        Returns: [b, l, d].
        """
        kernels = mamba_kernels() if self.kernel == "auto" and x.is_cuda else None
        if kernels is not None and offset == 0:  # the kernels cannot start from a non-zero state
            return self._forward_kernels(x, state, kernels)
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = F.silu(self._conv(u, state))
        delta, B, C = self._ssm_inputs(u)
        y = selective_scan(u, delta, self.A, B, C, self.D, z, self.dt_proj.bias, delta_softplus=True,
                           initial_state=None if state is None else state.ssm,
                           return_last_state=state is not None, chunk_size=self.chunk_size)
        if state is not None:
            y, last = y
            state.ssm.copy_(last.detach())
        return self.out_proj(y)

    @property
    def A(self) -> Tensor:
        return -torch.exp(self.A_log.float())

    def _conv(self, u: Tensor, state: MambaState | None) -> Tensor:
        """Causal depthwise convolution along time, [b l e] -> [b l e]; keeps the last k inputs."""
        if state is None:
            return causal_conv1d(u, self.conv1d.weight, self.conv1d.bias)
        # Prefill: the last k-1 inputs before this block go in front; their own outputs are dropped.
        history = rearrange(state.conv[:, :, 1:], "b e k -> b k e").to(u.dtype)
        padded = torch.cat([history, u], dim=1)
        state.conv.copy_(rearrange(padded[:, -self.d_conv :], "b k e -> b e k").detach())
        return causal_conv1d(padded, self.conv1d.weight, self.conv1d.bias)[:, history.shape[1] :]

    def _ssm_inputs(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Step sizes (before bias/softplus) [..., e] and the input-dependent B, C [..., n]."""
        dt, B, C = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        return F.linear(dt, self.dt_proj.weight), B, C

    def _forward_kernels(self, x: Tensor, state: MambaState | None, kernels) -> Tensor:
        """mamba_ssm's CUDA path (channels-first)."""
        u, z = rearrange(self.in_proj(x), "b l e2 -> b e2 l").chunk(2, dim=1)
        if state is not None:
            state.conv.copy_(F.pad(u, (self.d_conv - u.shape[-1], 0)).detach())
        u = kernels.causal_conv1d_fn(u, rearrange(self.conv1d.weight, "e 1 k -> e k"), self.conv1d.bias,
                                     activation="silu")
        delta, B, C = self._ssm_inputs(rearrange(u, "b e l -> b l e"))
        y = kernels.selective_scan_fn(
            u, rearrange(delta, "b l e -> b e l").contiguous(), self.A,
            rearrange(B, "b l n -> b n l").contiguous(), rearrange(C, "b l n -> b n l").contiguous(),
            self.D.float(), z=z, delta_bias=self.dt_proj.bias.float(), delta_softplus=True,
            return_last_state=state is not None)
        if state is not None:
            y, last = y
            state.ssm.copy_(last.detach())
        return self.out_proj(rearrange(y, "b e l -> b l e"))

    def step(self, x: Tensor, state: MambaState, offset: int = 0) -> Tensor:
        """One token: x [b, d] -> [b, d]; updates `state` in place. Constant time and memory.

        Written with functional calls only: at batch 1 the cost is per-call overhead, not arithmetic.
        """
        u, z = F.linear(x, self.in_proj.weight).chunk(2, dim=-1)
        window = torch.cat([state.conv[:, :, 1:], u.unsqueeze(-1).to(state.conv.dtype)], dim=-1)  # [b e k]
        state.conv.copy_(window)
        u = F.silu((window * self.conv1d.weight[:, 0]).sum(-1) + self.conv1d.bias)
        dt, B, C = F.linear(u, self.x_proj.weight).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(F.linear(dt, self.dt_proj.weight, self.dt_proj.bias))
        ssm = state.ssm
        ssm.mul_(torch.exp(delta.unsqueeze(-1) * self.A)).addcmul_((delta * u).unsqueeze(-1), B.unsqueeze(1))
        y = torch.addcmul((ssm * C.unsqueeze(1)).sum(-1), self.D, u)
        return F.linear(y * F.silu(z), self.out_proj.weight)

    def allocate_state(self, batch_size: int, device=None, dtype=None) -> MambaState:
        """Zero state for `batch_size` sequences (ssm state in fp32)."""
        device = self.out_proj.weight.device if device is None else device
        dtype = self.conv1d.weight.dtype if dtype is None else dtype
        return MambaState(conv=torch.zeros(batch_size, self.d_inner, self.d_conv, device=device, dtype=dtype),
                          ssm=torch.zeros(batch_size, self.d_inner, self.d_state, device=device, dtype=torch.float32))
