"""Small pieces shared by the condition encoders: sinusoidal positions at real-valued times, the
encoded-condition container.

Glossary: B batch, N condition elements, H decoder width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def sinusoidal(positions: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Transformer sinusoidal embedding of (possibly fractional) positions.

    Args:
        positions: [...] float positions (frame indices, seconds * rate).
        dim: embedding size (even).

    Returns:
        [..., dim]: cos of the first half of the frequencies, then sin (MusicGen's order).
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=positions.device) / max(half - 1, 1))
    angles = positions.float()[..., None] * freqs
    emb = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
    return torch.nn.functional.pad(emb, (0, dim - 2 * half))


@dataclass
class Condition:
    """One encoded condition stream.

    Args:
        x: [B, N, H] vectors in the decoder's width.
        mask: [B, N] True where an element exists.
        frames: [B, N] codec frame (within the window) each element belongs to.
    """

    x: torch.Tensor
    mask: torch.Tensor
    frames: torch.Tensor

    def __post_init__(self) -> None:
        assert self.x.shape[:2] == self.mask.shape == self.frames.shape, (self.x.shape, self.mask.shape)
        # absent elements are exact zeros: NaNs from fully masked rows must never reach attention
        self.x = torch.where(self.mask[..., None], self.x, torch.zeros((), dtype=self.x.dtype, device=self.x.device))


def safe_padding_mask(mask: torch.Tensor) -> torch.Tensor:
    """A key-padding mask (True = ignore) for `mask` (True = present) that never masks a whole row:
    rows with no element attend to their (zero) padding instead of producing NaNs."""
    empty = ~mask.any(dim=-1, keepdim=True)
    return ~(mask | empty)
