"""Per-token conditions: what the model is told about the video and the harmony at every token.

Everything is aligned to the tokens: each token carries the vectors of its own bar/beat, taken from a
plan fixed in advance (the video's controls, the chord of the beat), never from the target sequence,
so a condition cannot reveal tokens that come after it.

Einops letters: b batch, l time (tokens), v video features, c CLIP features
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import Tensor


@dataclass
class Conditions:
    """Condition streams for a batch of token sequences.

    Attributes:
        video: [b, l, v] float video controls (density, strength, cut/section, progress, ...).
        chords: [b, l] long chord id of each token's beat (0 = no chord).
        key: [b] long key id, or None (unknown key).
        clip: [b, l, c] semantic features, or None.
        use_video, use_chords: [b] bool, the Switch Schedule's choice per sample (None = all True).
    """

    video: Tensor
    chords: Tensor
    key: Tensor | None = None
    clip: Tensor | None = None
    use_video: Tensor | None = None
    use_chords: Tensor | None = None

    @property
    def batch_size(self) -> int:
        return self.video.shape[0]

    @property
    def length(self) -> int:
        return self.video.shape[1]

    def at(self, t: int) -> Conditions:
        """The conditions of time step t only (length 1), for step-by-step decoding."""
        return dataclasses.replace(
            self, video=self.video[:, t : t + 1], chords=self.chords[:, t : t + 1],
            clip=None if self.clip is None else self.clip[:, t : t + 1])

    def with_switch(self, use_video: Tensor | None, use_chords: Tensor | None) -> Conditions:
        """The same streams with another per-sample choice of which ones are fused."""
        return dataclasses.replace(self, use_video=use_video, use_chords=use_chords)

    def to(self, device) -> Conditions:
        """All tensors moved to `device`."""
        moved = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return Conditions(**{name: None if value is None else value.to(device) for name, value in moved.items()})
