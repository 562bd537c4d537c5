"""How encoded condition streams reach the decoder, as data (audiocraft's ConditionFuser map):

    {"cross": ["video", "score"], "sum": ["chroma"]}

- "cross": the stream's elements join the cross-attention memory, each with a sinusoidal embedding of
  its codec frame added (audiocraft's `cross_attention_pos_emb`) so the decoder can align it in time.
- "sum": a frame-aligned stream ([B, T, H]) is added to the decoder's step embeddings: step s gets
  frame s, the frame whose first codebook the output at step s predicts.

Per-sample `keep` flags drop streams (condition dropout in training; all False = the null condition of
classifier-free guidance). A dropped stream is masked out of the memory and zero in the sum. The memory
always starts with one zero slot that is never masked, so a sample with no condition at all attends
to it and gets an exactly zero cross-attention output instead of NaNs.

Glossary: B batch, N memory elements, T codec frames, H decoder width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vmm.audio.layers import Condition, sinusoidal


@dataclass
class Fused:
    """memory [B, N, H] and memory_mask [B, N] for cross-attention; step_sum [B, T, H] or None."""

    memory: torch.Tensor
    memory_mask: torch.Tensor
    step_sum: torch.Tensor | None

    def steps(self, start: int, count: int) -> torch.Tensor | None:
        """[B, count, H] of step_sum for steps start .. start+count-1 (zeros past the last frame)."""
        if self.step_sum is None:
            return None
        part = self.step_sum[:, start:start + count]
        return nn.functional.pad(part, (0, 0, 0, count - part.shape[1]))

    def cat(self, other: Fused) -> Fused:
        """Stack two batches (the conditional and the null half of classifier-free guidance)."""
        step_sum = None if self.step_sum is None else torch.cat([self.step_sum, other.step_sum])
        return Fused(torch.cat([self.memory, other.memory]), torch.cat([self.memory_mask, other.memory_mask]), step_sum)


class ConditionFuser(nn.Module):
    """Args: fuse map ({"cross": [...], "sum": [...]}), width H, weight of the memory's positions."""

    def __init__(self, fuse: dict[str, list[str]], width: int, pos_scale: float = 1.0) -> None:
        super().__init__()
        self.cross = list(fuse.get("cross", []))
        self.sum = list(fuse.get("sum", []))
        self.width = width
        self.pos_scale = pos_scale

    def forward(self, streams: dict[str, Condition], batch: int, num_frames: int,
                keep: dict[str, torch.Tensor] | None = None) -> Fused:
        """
        Args:
            streams: encoded streams by name; missing names are absent streams.
            batch: B; num_frames: T.
            keep: per-stream [B] bool; missing names are kept.
        """
        ref = next(iter(self.parameters()), None)
        device = next((c.x.device for c in streams.values()), ref.device if ref is not None else "cpu")
        memory = [torch.zeros(batch, 1, self.width, device=device)]
        masks = [torch.ones(batch, 1, dtype=torch.bool, device=device)]
        for name in self.cross:
            if name in streams:
                cond, kept = streams[name], self._keep(keep, name, batch, device)
                memory.append(cond.x + self.pos_scale * sinusoidal(cond.frames, self.width))
                masks.append(cond.mask & kept[:, None])
        step_sum = None
        for name in self.sum:
            if name in streams:
                cond, kept = streams[name], self._keep(keep, name, batch, device)
                assert cond.x.shape[1] == num_frames, f"summed stream {name} is not frame-aligned"
                term = cond.x * (cond.mask & kept[:, None])[..., None]
                step_sum = term if step_sum is None else step_sum + term
        memory_mask = torch.cat(masks, dim=1)
        # masked elements become exact zeros so that nothing of a dropped stream leaks
        return Fused(torch.cat(memory, dim=1) * memory_mask[..., None], memory_mask, step_sum)

    @staticmethod
    def _keep(keep: dict[str, torch.Tensor] | None, name: str, batch: int, device: torch.device) -> torch.Tensor:
        if keep is None or name not in keep:
            return torch.ones(batch, dtype=torch.bool, device=device)
        return keep[name].to(device)
