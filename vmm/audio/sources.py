"""Everything one clip conditions on, and the window cut of it (`ClipSources.window`).

Training crops and inference windows go through the same code: the long-term video frames are taken
once over the whole video, the short-term frames, score tokens and chroma rows are the window's.

Glossary: T codec frames, L long-term frames, D video feature size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from vmm.audio.conditions import WindowInputs
from vmm.audio.config import AudioLMConfig
from vmm.audio.score_stream import ScoreTokens
from vmm.audio.video_stream import FrameFeatures, long_term_frames, short_term_frames


@dataclass
class ClipSources:
    """Condition sources of one clip.

    Args:
        config: the model's config (frame rate, long-term frame count, short-term rate, token cap).
        video: per-frame video features, or None.
        score: note-event tokens, or None.
        chroma: [T, 12] melody chroma of the whole clip, or None.
    """

    config: AudioLMConfig
    video: FrameFeatures | None = None
    score: ScoreTokens | None = None
    chroma: torch.Tensor | None = None
    long_term: torch.Tensor | None = field(init=False, default=None)  # [L, D]

    def __post_init__(self) -> None:
        if self.video is not None:
            if self.video.values.shape[1] != self.config.video_feature_dim:
                raise ValueError(f"video features have {self.video.values.shape[1]} dims, "
                                 f"the model expects {self.config.video_feature_dim}")
            self.long_term = long_term_frames(self.video, self.config.long_frames)

    def window(self, start: int, end: int) -> WindowInputs:
        """The conditions of codec frames [start, end)."""
        rate = self.config.frame_rate
        inputs = WindowInputs()
        if self.video is not None:
            inputs.video_long = self.long_term
            inputs.video_short, inputs.video_short_frames = short_term_frames(
                self.video, start / rate, end / rate, self.config.short_fps, rate)
        if self.score is not None:
            inputs.score_ids, inputs.score_frames = self.score.window(start / rate, end / rate, rate,
                                                                       self.config.max_score_tokens)
        if self.chroma is not None:
            inputs.chroma = self.chroma[start:end]
        return inputs
