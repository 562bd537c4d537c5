"""Choosing the next token from logits: grammar mask, classifier-free guidance, temperature, top-k, top-p."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SamplingSettings:
    """How tokens are drawn. `cfg_scale` 1.0 means no guidance; > 1 pushes towards the conditions."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.95
    cfg_scale: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.cfg_scale < 0:
            raise ValueError(f"cfg_scale must be >= 0, got {self.cfg_scale}")


def guided_logits(conditional: torch.Tensor, unconditional: torch.Tensor | None, scale: float) -> torch.Tensor:
    """Classifier-free guidance in log-probability space: uncond + scale * (cond - uncond)."""
    if unconditional is None or scale == 1.0:
        return conditional
    conditional = torch.log_softmax(conditional.float(), dim=-1)
    unconditional = torch.log_softmax(unconditional.float(), dim=-1)
    return unconditional + scale * (conditional - unconditional)


def sample_token(
    logits: torch.Tensor, allowed: torch.Tensor, settings: SamplingSettings, generator: torch.Generator
) -> int:
    """Draw one token id.

    Args:
        logits: [V] scores for the next token.
        allowed: [V] bool, the grammar's mask (at least one True).
    """
    logits = logits.float().masked_fill(~allowed, float("-inf")) / settings.temperature
    if settings.top_k:
        kth = torch.topk(logits, min(settings.top_k, int(allowed.sum()))).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if settings.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Keep the smallest prefix whose mass reaches top_p (always at least the best token).
        outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= settings.top_p
        sorted_probs[outside] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))
