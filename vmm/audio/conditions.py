"""Raw condition inputs of one window (`WindowInputs`) and of a batch (`AudioConditions`).

A stream that is absent for a window (no video, no score) is simply empty; collation pads with zeros
and masks, and a stream absent from the whole batch is None. Absent and dropped streams look the same
to the decoder (masked out of the cross-attention memory, zero in the frame sum), which is what lets
one model run with a video, with a score, with both or with neither.

Glossary: B batch, L long-term frames, S short-term frames, N score tokens, T codec frames, D video
feature size.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch


@dataclass
class WindowInputs:
    """The conditions of one window.

    Args:
        video_long: [L, D] whole-video frames, or None without a video.
        video_short: [S, D] the window's frames; video_short_frames [S] their codec frame in the window.
        score_ids: [N] note-event tokens in the window; score_frames [N] their codec frame in the window.
        chroma: [T, 12] the lead line's chroma per codec frame, or None.
    """

    video_long: torch.Tensor | None = None
    video_short: torch.Tensor | None = None
    video_short_frames: torch.Tensor | None = None
    score_ids: torch.Tensor | None = None
    score_frames: torch.Tensor | None = None
    chroma: torch.Tensor | None = None


@dataclass
class AudioConditions:
    """The conditions of a batch of windows (see `collate`); masks are True where an element exists."""

    video_long: torch.Tensor | None = None  # [B, L, D]
    video_long_mask: torch.Tensor | None = None  # [B, L]
    video_short: torch.Tensor | None = None  # [B, S, D]
    video_short_frames: torch.Tensor | None = None  # [B, S]
    video_short_mask: torch.Tensor | None = None  # [B, S]
    score_ids: torch.Tensor | None = None  # [B, N], 0 = padding
    score_frames: torch.Tensor | None = None  # [B, N]
    chroma: torch.Tensor | None = None  # [B, T, 12]

    def to(self, device: torch.device | str) -> AudioConditions:
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{k: v.to(device) for k, v in moved.items() if v is not None})

    def has(self, stream: str) -> bool:
        """Whether `stream` ("video", "score", "chroma") has any data in this batch."""
        tensor = {"video": self.video_short, "score": self.score_ids, "chroma": self.chroma}[stream]
        return tensor is not None


def collate(windows: list[WindowInputs], num_frames: int) -> AudioConditions:
    """Pad and stack window inputs.

    Args:
        windows: one per batch item.
        num_frames: T, the codec frames of every window (chroma rows are padded or cut to it).
    """
    out = AudioConditions()
    if any(w.video_short is not None for w in windows):
        out.video_long, out.video_long_mask = _pad([w.video_long for w in windows])
        out.video_short, out.video_short_mask = _pad([w.video_short for w in windows])
        out.video_short_frames, _ = _pad([w.video_short_frames for w in windows])
    if any(w.score_ids is not None for w in windows):
        out.score_ids, _ = _pad([w.score_ids for w in windows])
        out.score_frames, _ = _pad([w.score_frames for w in windows])
    if any(w.chroma is not None for w in windows):
        out.chroma = torch.stack([_fit_rows(w.chroma, num_frames) for w in windows])
    return out


def _pad(items: list[torch.Tensor | None]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack [n_i, ...] tensors (None = empty) into [B, max n, ...] with zeros, plus the [B, max n] mask."""
    ref = next(t for t in items if t is not None)
    length = max(1, max(0 if t is None else len(t) for t in items))
    values = ref.new_zeros((len(items), length, *ref.shape[1:]))
    mask = torch.zeros(len(items), length, dtype=torch.bool)
    for i, item in enumerate(items):
        if item is not None and len(item):
            values[i, : len(item)] = item
            mask[i, : len(item)] = True
    return values, mask


def _fit_rows(chroma: torch.Tensor | None, num_frames: int) -> torch.Tensor:
    if chroma is None:
        return torch.zeros(num_frames, 12)
    chroma = chroma[:num_frames]
    return torch.nn.functional.pad(chroma, (0, 0, 0, num_frames - len(chroma)))
