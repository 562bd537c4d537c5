"""The video stream, VidMuse-style: a long-term view of the whole video and a short-term view of the
current window, each encoded by a small transformer, fused by cross-attention (short queries long).

The module takes per-frame feature vectors, not pixels. `frame_features` turns `vmm.video`'s
`VideoFeatures` (weights-free rhythm/mood curves and optional CLIP embeddings) into one [M, D] tensor;
`long_term_frames` and `short_term_frames` pick the frames each stream sees.

Per-frame vector (D = 7 + clip_dim):
    [log1p(motion), log1p(impact), cut, brightness, saturation, warmth, has_clip, clip_0 .. clip_{clip_dim-1}]
`cut` is 1 on the grid frame where a new shot starts. `has_clip` is 0 and the CLIP part zeros when the
video was read without CLIP weights. Missing curves (an older features object) count as zeros.

Glossary: B batch, M video grid frames, L long-term frames, S short-term frames, D feature size,
W module width, H decoder width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from einops import repeat
from torch import nn

from vmm.audio.config import BASE_VIDEO_FEATURES
from vmm.audio.layers import Condition, safe_padding_mask, sinusoidal
from vmm.errors import VMMError

BASE_FEATURES = BASE_VIDEO_FEATURES  # log1p(motion), log1p(impact), cut, brightness, saturation, warmth, has_clip


def feature_dim(clip_dim: int) -> int:
    """Per-frame vector size for CLIP embeddings of `clip_dim` (0: weights-free features only)."""
    return BASE_FEATURES + clip_dim


@dataclass
class FrameFeatures:
    """Per-frame vectors of one video on its time grid.

    Args:
        times: [M] seconds, increasing.
        values: [M, D] float.
        duration: the video's length in seconds.
    """

    times: torch.Tensor
    values: torch.Tensor
    duration: float

    def at(self, query: torch.Tensor) -> torch.Tensor:
        """[Q] seconds -> [Q, D]: the grid frame nearest to each time."""
        index = torch.searchsorted(self.times, query.clamp(min=0.0)).clamp(max=len(self.times) - 1)
        before = (index - 1).clamp(min=0)
        closer = (query - self.times[before]).abs() <= (self.times[index] - query).abs()
        return self.values[torch.where(closer, before, index)]


def frame_features(features: Any, clip_dim: int) -> FrameFeatures:
    """Adapter from `vmm.video.features.VideoFeatures` to per-frame vectors.

    Args:
        features: has `times` [M] seconds, `motion`, `impact`, `brightness`, `saturation`, `warmth` [M],
            `cuts` (seconds), `clip` [M', E] | None on `clip_times` [M'] (any array-likes), `duration`.
        clip_dim: E the model expects (0 when it was trained without CLIP).

    Raises:
        VMMError: CLIP embeddings of the wrong size.
    """
    times = torch.as_tensor(np.asarray(features.times, dtype=np.float32))
    if times.numel() == 0:
        raise VMMError("the video yielded no frames: nothing to condition the audio on (check the file)")
    def curve(name: str) -> np.ndarray:
        values = getattr(features, name, None)
        return np.zeros(len(times), np.float32) if values is None else np.asarray(values, dtype=np.float32)

    cut = np.zeros(len(times), np.float32)
    for time in getattr(features, "cuts", None) or []:
        cut[int(torch.searchsorted(times, torch.tensor(float(time))).clamp(max=len(times) - 1))] = 1.0
    curves = [np.log1p(np.abs(curve("motion"))), np.log1p(np.abs(curve("impact"))), cut]
    curves += [curve(name) for name in ("brightness", "saturation", "warmth")]
    base = torch.as_tensor(np.stack(curves, axis=1))
    clip = torch.zeros(len(times), clip_dim)
    has_clip = torch.zeros(len(times), 1)
    embeddings = getattr(features, "clip", None)
    if embeddings is not None and clip_dim > 0:
        embeddings = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
        if embeddings.shape[-1] != clip_dim:
            raise VMMError(f"the video's CLIP embeddings have {embeddings.shape[-1]} dims but the audio model expects "
                           f"{clip_dim} (use the CLIP weights the model was trained with)")
        clip_grid = FrameFeatures(torch.as_tensor(np.asarray(features.clip_times, dtype=np.float32)), embeddings, 0.0)
        clip, has_clip = clip_grid.at(times), torch.ones(len(times), 1)
    duration = float(getattr(features, "duration", 0.0) or 0.0) or float(times[-1]) + _grid_step(times)
    return FrameFeatures(times, torch.cat([base, has_clip, clip], dim=1), duration)


def _grid_step(times: torch.Tensor) -> float:
    return float(times[1] - times[0]) if len(times) > 1 else 0.0


def long_term_frames(frames: FrameFeatures, count: int) -> torch.Tensor:
    """[L, D]: `count` frames evenly spread over the whole video (centres of equal slices)."""
    query = (torch.arange(count) + 0.5) * frames.duration / count
    return frames.at(query)


def short_term_frames(frames: FrameFeatures, start: float, end: float, fps: float,
                      frame_rate: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The window's frames for the short-term stream.

    Args:
        start, end: the window in seconds (video time).
        fps: short-term frames per second.
        frame_rate: codec frames per second, to place each frame on the window's codec grid.

    Returns:
        values [S, D] and positions [S]: codec frame index within the window of each short-term frame.
        S = 0 when the window lies past the end of the video.
    """
    end = min(end, frames.duration)
    count = max(0, int(math.ceil((end - start) * fps - 1e-6)))
    query = start + (torch.arange(count) + 0.5) / fps
    query = query[query < end]
    return frames.at(query), (query - start) * frame_rate


class VideoModule(nn.Module):
    """Long-term / short-term video encoder with cross-attention fusion.

    Args:
        feature_dim: D.
        width: W of both encoders.
        layers, heads: of each encoder.
        out_dim: H, the decoder width.
        short_scale: multiplies short-term positions (codec frames) before the sinusoid, so that
            neighbouring short-term frames get distinct positions (1 / codec frames per short frame).
    """

    def __init__(self, feature_dim: int, width: int, layers: int, heads: int, out_dim: int,
                 short_scale: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.width = width
        self.short_scale = short_scale
        self.in_proj = nn.Linear(feature_dim, width)
        self.long = _encoder(width, layers, heads, dropout)
        self.short = _encoder(width, layers, heads, dropout)
        self.fuse = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.fuse_norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, out_dim)

    def forward(self, long: torch.Tensor, long_mask: torch.Tensor, short: torch.Tensor,
                short_frames: torch.Tensor, short_mask: torch.Tensor) -> Condition:
        """
        Args:
            long: [B, L, D] whole-video frames; long_mask [B, L].
            short: [B, S, D] window frames; short_frames [B, S] codec frame in the window; short_mask [B, S].

        Returns:
            The fused stream: [B, S, H] at the short-term frames' positions.
        """
        long_pos = repeat(torch.arange(long.shape[1], device=long.device), "l -> b l", b=long.shape[0])
        long_pad, short_pad = safe_padding_mask(long_mask), safe_padding_mask(short_mask)
        long_h = self.long(self.in_proj(long) + sinusoidal(long_pos, self.width), src_key_padding_mask=long_pad)
        short_h = self.in_proj(short) + sinusoidal(short_frames * self.short_scale, self.width)
        short_h = self.short(short_h, src_key_padding_mask=short_pad)
        attended, _ = self.fuse(short_h, long_h, long_h, key_padding_mask=long_pad, need_weights=False)
        fused = self.fuse_norm(short_h + attended)
        return Condition(self.out(fused), short_mask, short_frames)


def _encoder(width: int, layers: int, heads: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
