"""A grammar over REMI token kinds: which tokens may come next, so that every sampled sequence decodes
to valid MIDI and the piece has exactly the planned number of bars.

The order inside a bar (MidiTok REMI, one stream for all programs) is

    Bar TimeSig ( Position [Tempo] ( Program (Pitch | PitchDrum) Velocity Duration )+ )*

Positions rise strictly inside a bar and stay below the bar's length. The plan fixes the time
signature after every Bar and the tempo at Position 0 of the first bar; Program tokens are limited to the
chosen instruments. After the last planned bar, a further Bar ends the piece instead of starting one.
"""

from __future__ import annotations

import numpy as np
import torch

from vmm.generate.vocabulary import Kind, Vocabulary


class RemiGrammar:
    """Tracks one sequence and answers the mask of allowed next tokens.

    Args:
        vocab: the tokenizer's Vocabulary.
        n_bars: bars to generate; the sequence is done when a Bar would start bar n_bars + 1.
        time_signature: (numerator, denominator) forced after every Bar.
        positions_per_beat: Position steps per beat (the tokenizer's finest beat resolution).
        tempo_bpm: tempo forced at the first Position, or None to leave tempo tokens out.
        programs: allowed programs (-1 = drums), or None for all.
        max_notes_per_bar: after this many notes the bar is closed (a guard against endless bars).
    """

    def __init__(
        self,
        vocab: Vocabulary,
        *,
        n_bars: int,
        time_signature: tuple[int, int] = (4, 4),
        positions_per_beat: int = 8,
        tempo_bpm: float | None = None,
        programs: list[int] | None = None,
        max_notes_per_bar: int = 96,
    ):
        if n_bars < 1:
            raise ValueError(f"n_bars must be at least 1, got {n_bars}")
        self.vocab = vocab
        self.n_bars = n_bars
        self.bar_id = vocab.bar_id()
        self.time_sig_id = vocab.time_sig_id(*time_signature)
        self.positions_in_bar = time_signature[0] * positions_per_beat
        self.tempo_id = vocab.nearest_tempo_id(tempo_bpm) if tempo_bpm else None
        self.max_notes_per_bar = max_notes_per_bar
        size = len(vocab)
        self._masks = {kind: torch.from_numpy(vocab.kinds == kind) for kind in Kind}
        self._program_mask = torch.zeros(size, dtype=torch.bool)
        self._program_mask[vocab.program_ids(programs)] = True
        if not self._program_mask.any():
            raise ValueError(f"none of the programs {programs} is in the tokenizer")
        position_values = np.where(vocab.kinds == Kind.POSITION, vocab.values, -1)
        self._position_values = torch.from_numpy(position_values)
        self.bars_started = 0
        self.position = -1
        self.notes_in_bar = 0
        self.tempo_done = self.tempo_id is None
        self.last_kind: Kind | None = None
        self.program = 0
        self.done = False

    def _only(self, token_id: int) -> torch.Tensor:
        mask = torch.zeros(len(self.vocab), dtype=torch.bool)
        mask[token_id] = True
        return mask

    def _positions_after_current(self) -> torch.Tensor:
        values = self._position_values
        return (values > self.position) & (values < self.positions_in_bar)

    def allowed(self) -> torch.Tensor:
        """Boolean mask [V] of the tokens that may come next."""
        kind = self.last_kind
        if kind is None:
            return self._only(self.bar_id)
        if kind == Kind.BAR:
            return self._only(self.time_sig_id)
        if kind == Kind.POSITION:
            return self._only(self.tempo_id) if not self.tempo_done else self._program_mask.clone()
        if kind == Kind.TEMPO:
            return self._program_mask.clone()
        if kind == Kind.PROGRAM:
            return self._masks[Kind.PITCH_DRUM if self.program == -1 else Kind.PITCH].clone()
        if kind in (Kind.PITCH, Kind.PITCH_DRUM):
            return self._masks[Kind.VELOCITY].clone()
        if kind == Kind.VELOCITY:
            return self._masks[Kind.DURATION].clone()
        if not self.tempo_done:  # the tempo goes at time 0, so the first bar starts on Position 0
            return self._position_values == 0
        # After TimeSig (an empty bar so far) or after a complete note.
        if self.notes_in_bar >= self.max_notes_per_bar:
            return self._only(self.bar_id)
        mask = self._positions_after_current() | self._only(self.bar_id)
        if kind == Kind.DURATION:
            mask |= self._program_mask
        return mask

    def advance(self, token_id: int) -> None:
        """Take the sampled token; a Bar after the last planned bar marks the sequence done."""
        kind = Kind(int(self.vocab.kinds[token_id]))
        if kind == Kind.BAR:
            if self.bars_started == self.n_bars:
                self.done = True
                return
            self.bars_started += 1
            self.position = -1
            self.notes_in_bar = 0
        elif kind == Kind.POSITION:
            self.position = int(self.vocab.values[token_id])
        elif kind == Kind.TEMPO:
            self.tempo_done = True
        elif kind == Kind.PROGRAM:
            self.program = int(self.vocab.values[token_id])
        elif kind == Kind.DURATION:
            self.notes_in_bar += 1
        self.last_kind = kind

    def forced(self) -> int | None:
        """The only allowed token when there is exactly one, else None (saves a model call's sampling)."""
        mask = self.allowed()
        return int(mask.nonzero()[0]) if int(mask.sum()) == 1 else None
