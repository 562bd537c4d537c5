"""The model's configuration: one flat, typed dataclass, checked on construction.

Run settings (optimiser, data, trainer, the Switch Schedule) are not here: this is only what is needed
to build the network and to load its weights again (`config.json` in the exported artefact).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

from symbolic.chords import N_CHORDS

MIXERS = {"M": "Mamba mixer", "A": "local causal attention"}
KERNELS = ("auto", "torch")


@dataclass
class VMMConfig:
    """Hyper-parameters of `VMMModel`.

    Attributes:
        vocab_size: number of token ids.
        d_model: width of the residual stream.
        layer_pattern: one letter per layer, "M" (Mamba mixer) or "A" (local causal attention); each
            mixer is followed by an MLP, both in pre-norm residual form. E.g. "MMMA" * 3.
        d_state, d_conv, expand, dt_rank: Mamba sizes as in mamba_ssm (dt_rank None = ceil(d_model/16)).
        n_heads, attn_window: attention heads and the sliding window (tokens seen, the current one included).
        mlp_ratio: MLP hidden width as a multiple of d_model.
        dropout: residual and attention dropout.
        video_dim: per-token video control features (density, strength, cut/section, progress, ...).
        clip_dim: per-token semantic (CLIP) features; 0 = none.
        n_chords: chord vocabulary size (id 0 = no chord); n_keys: key vocabulary (last id = unknown).
        video_grad_scale, chord_grad_scale: gradient multiplier of each condition branch (0 = stop).
        kernel: "auto" uses mamba_ssm's CUDA kernels when importable and the input is on CUDA;
            "torch" always uses the PyTorch scan.
        tie_embeddings: share the token embedding with the output projection.
    """

    vocab_size: int
    d_model: int = 256
    layer_pattern: str = "MMMA"
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int | None = None
    n_heads: int = 4
    attn_window: int = 256
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    video_dim: int = 4
    clip_dim: int = 0
    n_chords: int = N_CHORDS  # symbolic.chords' vocabulary: 12 roots x qualities + no chord (id 0)
    n_keys: int = 25
    video_grad_scale: float = 1.0
    chord_grad_scale: float = 1.0
    kernel: Literal["auto", "torch"] = "auto"
    tie_embeddings: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "d_state", "d_conv", "expand", "n_heads", "attn_window",
                     "video_dim", "n_chords", "n_keys"):
            _check_positive_int(name, getattr(self, name))
        if self.dt_rank is not None:
            _check_positive_int("dt_rank", self.dt_rank)
        if not isinstance(self.clip_dim, int) or isinstance(self.clip_dim, bool) or self.clip_dim < 0:
            raise ValueError(f"clip_dim must be an integer >= 0, got {self.clip_dim!r}")
        if not isinstance(self.layer_pattern, str) or not self.layer_pattern:
            raise ValueError(f"layer_pattern must be a non-empty string of M/A letters, got {self.layer_pattern!r}")
        bad = sorted(set(self.layer_pattern) - set(MIXERS))
        if bad:
            raise ValueError(f"layer_pattern {self.layer_pattern!r} has unknown letters {bad}: use M (Mamba) and A (attention)")
        if "A" in self.layer_pattern and (self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2):
            raise ValueError(
                f"d_model ({self.d_model}) must split into n_heads ({self.n_heads}) heads of even width (rotary)")
        if not (isinstance(self.mlp_ratio, (int, float)) and math.isfinite(self.mlp_ratio) and self.mlp_ratio > 0):
            raise ValueError(f"mlp_ratio must be a positive number, got {self.mlp_ratio!r}")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("video_grad_scale", "chord_grad_scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0 (0 = stop-gradient), got {value!r}")
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        if not isinstance(self.tie_embeddings, bool):
            raise ValueError(f"tie_embeddings must be true or false, got {self.tie_embeddings!r}")

    @property
    def n_layers(self) -> int:
        return len(self.layer_pattern)

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def resolved_dt_rank(self) -> int:
        return math.ceil(self.d_model / 16) if self.dt_rank is None else self.dt_rank

    def to_dict(self) -> dict:
        """Plain JSON-serialisable fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> VMMConfig:
        """Inverse of `to_dict`; unknown keys are an error (they usually mean a typo or a newer file)."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; known keys: {sorted(names)}")
        return cls(**data)

    @classmethod
    def tiny(cls, vocab_size: int) -> VMMConfig:
        """A model of a few thousand parameters (plus embeddings) with both mixer kinds, for tests."""
        return cls(vocab_size=vocab_size, d_model=16, layer_pattern="MA", d_state=4, d_conv=4, expand=2,
                   n_heads=2, attn_window=8, mlp_ratio=2.0)


def _check_positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
