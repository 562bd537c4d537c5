"""The score stream: the symbolic score as note-event tokens placed on the codec's frame grid.

Each note gives two tokens, a note-on at its start and a note-off at its end, so the stream carries
pitch, instrument family, onset and duration. Token ids:

    0                                   padding
    1 + 2 * (family * 128 + pitch) + 0  note-on    family = GM program // 8 (0..15), 16 for drums
    1 + 2 * (family * 128 + pitch) + 1  note-off

The vocabulary is self-contained (no tokenizer file to ship beside the weights); the REMI tokens of
the symbolic model would carry the same information at a higher cost per second.

Glossary: B batch, N tokens, H decoder width.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from symusic import Score
from torch import nn

from vmm.audio.layers import Condition

log = logging.getLogger(__name__)

DRUM_FAMILY = 16
NOTE_VOCAB_SIZE = 1 + 2 * (DRUM_FAMILY + 1) * 128


def note_token(family: int, pitch: int, off: bool) -> int:
    return 1 + 2 * (family * 128 + pitch) + int(off)


@dataclass
class ScoreTokens:
    """A score as note-event tokens.

    Args:
        ids: [N] int64 token ids, ordered by time (note-offs before note-ons at equal times).
        times: [N] float seconds.
    """

    ids: torch.Tensor
    times: torch.Tensor

    def window(self, start: float, end: float, frame_rate: float, max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens with start <= time < end.

        Returns:
            ids [n] and frames [n] (codec frame within the window), n <= max_tokens (the earliest kept;
            a warning is logged when tokens are dropped).
        """
        keep = (self.times >= start) & (self.times < end)
        ids, frames = self.ids[keep], torch.floor((self.times[keep] - start) * frame_rate)
        if len(ids) > max_tokens:
            log.warning("score window %.1f-%.1f s has %d tokens; keeping the first %d", start, end, len(ids), max_tokens)
            ids, frames = ids[:max_tokens], frames[:max_tokens]
        return ids, frames


def note_events(score: Score) -> ScoreTokens:
    """Note-on/note-off tokens of every track of `score` (ticks or seconds)."""
    score = score.to("second")
    events: list[tuple[float, int, int]] = []  # (time, order, id): offs (0) before ons (1) at one time
    for track in score.tracks:
        family = DRUM_FAMILY if track.is_drum else min(max(track.program, 0), 127) // 8
        for note in track.notes:
            pitch = min(max(note.pitch, 0), 127)
            events.append((float(note.start), 1, note_token(family, pitch, off=False)))
            events.append((float(note.end), 0, note_token(family, pitch, off=True)))
    events.sort()
    ids = torch.tensor([e[2] for e in events], dtype=torch.long)
    times = torch.tensor(np.array([e[0] for e in events], dtype=np.float32))
    return ScoreTokens(ids, times)


class ScoreEncoder(nn.Module):
    """Token embeddings; the frame positions are added by the fuser.

    Args:
        vocab_size: token ids in [0, vocab_size); 0 is padding.
        out_dim: H.
    """

    def __init__(self, vocab_size: int, out_dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, out_dim, padding_idx=0)

    def forward(self, ids: torch.Tensor, frames: torch.Tensor) -> Condition:
        """ids [B, N] (0 = padding), frames [B, N] -> Condition [B, N, H]."""
        return Condition(self.embed(ids), ids > 0, frames)
