"""One backbone layer: pre-norm residual mixer (Mamba or local attention), then a pre-norm residual MLP.

Submodule names follow mamba_ssm's `Block` (norm, mixer, norm2, mlp.fc1, mlp.fc2).

Einops letters: b batch, l time, d d_model
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from vmm.model.attention import LocalAttention
from vmm.model.cache import LayerState
from vmm.model.config import VMMConfig
from vmm.model.mamba import Mamba
from vmm.model.norm import RMSNorm


class MLP(nn.Module):
    """d -> ratio*d -> GELU -> d."""

    def __init__(self, d_model: int, ratio: float):
        super().__init__()
        hidden = max(1, round(d_model * ratio))
        self.fc1 = nn.Linear(d_model, hidden, bias=False)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))

    def step(self, x: Tensor) -> Tensor:
        """The same without module calls (decoding is dominated by per-call overhead)."""
        return F.linear(F.gelu(F.linear(x, self.fc1.weight)), self.fc2.weight)


def build_mixer(kind: str, config: VMMConfig) -> nn.Module:
    """"M" -> Mamba, "A" -> LocalAttention, sized from `config`."""
    if kind == "M":
        return Mamba(config.d_model, config.d_state, config.d_conv, config.expand, config.dt_rank,
                     kernel=config.kernel)
    if kind == "A":
        return LocalAttention(config.d_model, config.n_heads, config.attn_window, config.dropout)
    raise ValueError(f"unknown mixer kind {kind!r}: use M or A")


class Block(nn.Module):
    """x + mixer(norm(x)), then x + mlp(norm2(x)): [b, l, d] -> [b, l, d] (or [b, d] in `step`)."""

    def __init__(self, kind: str, config: VMMConfig):
        super().__init__()
        self.kind = kind
        self.norm = RMSNorm(config.d_model, eps=1e-5)
        self.mixer = build_mixer(kind, config)
        self.norm2 = RMSNorm(config.d_model, eps=1e-5)
        self.mlp = MLP(config.d_model, config.mlp_ratio)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, state: LayerState | None = None, offset: int = 0) -> Tensor:
        x = x + self.drop(self.mixer(self.norm(x), state, offset))
        return x + self.drop(self.mlp(self.norm2(x)))

    def step(self, x: Tensor, state: LayerState, offset: int) -> Tensor:
        """One token [b, d] at position `offset` (inference: no dropout, no module calls)."""
        x = x + self.mixer.step(_rms_norm(x, self.norm), state, offset)
        return x + self.mlp.step(_rms_norm(x, self.norm2))


    def allocate_state(self, batch_size: int, device=None, dtype=None) -> LayerState:
        return self.mixer.allocate_state(batch_size, device, dtype)


def _rms_norm(x: Tensor, norm: RMSNorm) -> Tensor:
    return F.rms_norm(x, norm.normalized_shape, norm.weight, norm.eps)
