"""Sampling codes for one window: pattern steps one at a time with a KV cache, classifier-free guidance
(the conditional and the null batch in one forward) and top-k sampling.

A prompt (the last frames of the previous window) is written into the pattern first; steps that hold
only prompt cells are fed in one prefill call, and a sampled token never overwrites a prompt cell.

Glossary: B batch, K codebooks, T codec frames, P prompt frames, S pattern steps, V codebook size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

from vmm.audio.conditions import AudioConditions
from vmm.audio.lm import AudioLM

Callback = Callable[[int, int], None]
UNKNOWN = -1  # a cell not generated yet


@dataclass(frozen=True)
class SamplingSettings:
    """Args: top_k (0 = full distribution), temperature (> 0), cfg_coef (1 = no guidance; MusicGen uses 3)."""

    top_k: int = 250
    temperature: float = 1.0
    cfg_coef: float = 3.0

    def __post_init__(self) -> None:
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.cfg_coef < 0:
            raise ValueError(f"cfg_coef must be >= 0, got {self.cfg_coef}")


def sample_top_k(logits: torch.Tensor, top_k: int, temperature: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """[..., V] logits -> [...] token ids drawn from the renormalised top-k distribution."""
    logits = logits.float() / temperature
    if 0 < top_k < logits.shape[-1]:
        threshold = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < threshold, float("-inf"))
    probs = torch.softmax(logits, dim=-1).reshape(-1, logits.shape[-1])
    return torch.multinomial(probs, 1, generator=generator).view(logits.shape[:-1])


def num_sampling_steps(lm: AudioLM, num_frames: int, prompt_frames: int = 0) -> int:
    """Decoder calls after the prefill for one window (for progress totals)."""
    pattern = lm.pattern
    return pattern.num_steps(num_frames) - pattern.first_step_of_frame(prompt_frames)


@torch.no_grad()
def generate_window(lm: AudioLM, cond: AudioConditions, num_frames: int, *, batch: int = 1,
                    prompt: torch.Tensor | None = None, settings: SamplingSettings = SamplingSettings(),
                    generator: torch.Generator | None = None,
                    callback: Callback | None = None) -> torch.Tensor:
    """Sample the codes of one window.

    Args:
        cond: the window's conditions (batch B).
        num_frames: T.
        prompt: [B, K, P] codes of the window's first P frames (P < T), or None.
        generator: the random source (seeded by the caller).
        callback: called as callback(step_done, steps_total) after each step.

    Returns:
        [B, K, T] codes; the first P frames equal the prompt.
    """
    config, pattern = lm.config, lm.pattern
    device = lm.device
    prompt_frames = 0 if prompt is None else prompt.shape[-1]
    if prompt_frames >= num_frames:
        raise ValueError(f"prompt of {prompt_frames} frames leaves nothing to generate in {num_frames}")
    fused = lm.fuse(cond.to(device), batch, num_frames)
    guided = settings.cfg_coef != 1.0
    if guided:
        null = {name: torch.zeros(batch, dtype=torch.bool) for name in config.streams()}
        fused = fused.cat(lm.fuse(cond.to(device), batch, num_frames, keep=null))
    codes = torch.full((batch, config.num_codebooks, num_frames), UNKNOWN, dtype=torch.long, device=device)
    if prompt is not None:
        codes[..., :prompt_frames] = prompt.to(device)
    seq = pattern.build(codes, config.special_token)  # [B, K, S]
    valid = pattern.valid_mask(num_frames, device)  # [K, S]
    cache = EncoderDecoderCache(DynamicCache(config=lm.decoder.config), DynamicCache(config=lm.decoder.config))
    start = pattern.first_step_of_frame(prompt_frames)
    total = seq.shape[-1] - start
    previous = 0
    for done, step in enumerate(range(start, seq.shape[-1]), start=1):
        inputs = seq[:, :, previous:step]
        logits, cache = lm.step_logits(torch.cat([inputs, inputs]) if guided else inputs, fused, previous, cache)
        logits = logits[:, :, -1]  # [B or 2B, K, V]
        if guided:
            cond_logits, null_logits = logits.chunk(2)
            logits = null_logits + settings.cfg_coef * (cond_logits - null_logits)
        token = sample_top_k(logits, settings.top_k, settings.temperature, generator)
        token = torch.where(valid[:, step], token, config.special_token)
        seq[:, :, step] = torch.where(seq[:, :, step] == UNKNOWN, token, seq[:, :, step])
        previous = step
        if callback is not None:
            callback(done, total)
    out = pattern.revert(seq)
    assert not (out == UNKNOWN).any(), "a cell was never sampled"
    return out
