"""A grammar over REMI token types: which tokens may come next, so that every sampled sequence decodes
to valid MIDI and the piece has exactly the planned number of bars.

The order inside a bar (MidiTok REMI, one stream for all programs) is

    Bar TimeSig ( Position [Tempo] ( Program (Pitch | PitchDrum) Velocity Duration )+ )*

Positions rise strictly inside a bar and stay below the bar's length. The plan fixes the time
signature after every Bar and the tempo at Position 0 of the first bar; Program tokens are limited to
the chosen programs. After the last planned bar, a further Bar ends the piece instead of starting one.
Optional per-bar note limits (plan guidance) keep a bar open until it holds its fewest notes and close it
at its most; neither can empty the mask, since after a note another note may always follow.
"""

from __future__ import annotations

import numpy as np
import torch

from symbolic.tokenizer import TOKEN_TYPES, TokenTimeline, VocabTable

BAR, TIME_SIG, POSITION, TEMPO, PROGRAM, PITCH, PITCH_DRUM, VELOCITY, DURATION = (
    TOKEN_TYPES.index(kind) for kind in
    ("Bar", "TimeSig", "Position", "Tempo", "Program", "Pitch", "PitchDrum", "Velocity", "Duration")
)


class RemiGrammar:
    """Tracks one sequence (its bar, beat and position through a TokenTimeline) and answers the mask of
    allowed next tokens.

    Args:
        table: the tokenizer's `symbolic.tokenizer.vocab_table`.
        n_bars: bars to generate; the sequence is done when a Bar would start bar n_bars + 1.
        time_signature: (numerator, denominator) forced after every Bar.
        tempo_bpm: tempo forced at the first Position, or None to leave tempo tokens out.
        programs: allowed programs (-1 = drums), or None for all.
        max_notes_per_bar: after this many notes the bar is closed (a guard against endless bars).
        note_limits: [n_bars, 2] (fewest, most) notes per bar, or None for (0, max_notes_per_bar);
            limits above max_notes_per_bar are lowered to it.
    """

    MAX_NOTES_PER_BAR = 96

    def __init__(
        self,
        table: VocabTable,
        *,
        n_bars: int,
        time_signature: tuple[int, int] = (4, 4),
        tempo_bpm: float | None = None,
        programs: list[int] | None = None,
        max_notes_per_bar: int = MAX_NOTES_PER_BAR,
        note_limits: np.ndarray | None = None,
    ):
        if n_bars < 1:
            raise ValueError(f"n_bars must be at least 1, got {n_bars}")
        if note_limits is None:
            note_limits = np.tile([0, max_notes_per_bar], (n_bars, 1))
        note_limits = np.minimum(np.asarray(note_limits, dtype=np.int64), max_notes_per_bar)
        if note_limits.shape != (n_bars, 2) or (note_limits < 0).any() or (note_limits[:, 0] > note_limits[:, 1]).any():
            raise ValueError(f"note_limits must be [n_bars={n_bars}, 2] with 0 <= fewest <= most, "
                             f"got shape {note_limits.shape}")
        self._note_limits = note_limits.tolist()
        self.table = table
        self.timeline = TokenTimeline(table)
        self.n_bars = n_bars
        self.bar_id = int(table.ids_of("Bar")[0])
        self.time_sig_id = table.time_sig_id(*time_signature)
        self.positions_in_bar = time_signature[0] * table.positions_per_beat
        self.tempo_id = table.nearest_tempo_id(tempo_bpm) if tempo_bpm else None
        codes = torch.from_numpy(table.codes)
        self._masks = {code: codes == code for code in range(len(TOKEN_TYPES))}
        self._program_mask = torch.zeros(len(codes), dtype=torch.bool)
        self._program_mask[table.program_ids(programs)] = True
        if not self._program_mask.any():
            raise ValueError(f"none of the programs {programs} is in the tokenizer")
        self._position_values = torch.from_numpy(table.position)
        self.bars_started = 0
        self.notes_in_bar = 0
        self.tempo_done = self.tempo_id is None
        self.last_code: int | None = None
        self.program = 0
        self.pitch = -1  # of the note being written
        self.done = False

    @property
    def beat(self) -> int:
        """Global beat of the last token taken."""
        return self.timeline.beat

    @property
    def _limits(self) -> list[int]:
        """(fewest, most) notes of the current bar."""
        return self._note_limits[min(max(self.bars_started - 1, 0), self.n_bars - 1)]

    def _only(self, token_id: int) -> torch.Tensor:
        mask = torch.zeros(len(self._program_mask), dtype=torch.bool)
        mask[token_id] = True
        return mask

    def allowed(self) -> torch.Tensor:
        """Boolean mask [V] of the tokens that may come next."""
        code = self.last_code
        if code is None:
            return self._only(self.bar_id)
        if code == BAR:
            return self._only(self.time_sig_id)
        if code == POSITION:
            return self._only(self.tempo_id) if not self.tempo_done else self._program_mask
        if code == TEMPO:  # a bar that must stay empty may close right after the tempo
            return self._only(self.bar_id) if self.notes_in_bar >= self._limits[1] else self._program_mask
        if code == PROGRAM:
            return self._masks[PITCH_DRUM if self.program == -1 else PITCH]
        if code in (PITCH, PITCH_DRUM):
            return self._masks[VELOCITY]
        if code == VELOCITY:
            return self._masks[DURATION]
        if not self.tempo_done:  # the tempo goes at time 0, so the first bar starts on Position 0
            return self._position_values == 0
        # After TimeSig (an empty bar so far) or after a complete note.
        fewest, most = self._limits
        if self.notes_in_bar >= most:
            return self._only(self.bar_id)
        position = self.timeline.position
        values = self._position_values
        mask = (values > position) & (values < self.positions_in_bar)
        if self.notes_in_bar >= fewest:
            mask = mask | self._only(self.bar_id)
        # After TimeSig a later Position always exists; after a note, another note may always follow.
        return mask | self._program_mask if code == DURATION else mask

    def advance(self, token_id: int) -> None:
        """Take the sampled token; a Bar after the last planned bar marks the sequence done."""
        code = int(self.table.codes[token_id])
        if code == BAR and self.bars_started == self.n_bars:
            self.done = True
            return
        self.timeline.push(token_id)
        if code == BAR:
            self.bars_started += 1
            self.notes_in_bar = 0
        elif code == TEMPO:
            self.tempo_done = True
        elif code == PROGRAM:
            self.program = int(self.table.value[token_id])
        elif code in (PITCH, PITCH_DRUM):
            self.pitch = int(self.table.value[token_id])
        elif code == DURATION:
            self.notes_in_bar += 1
        self.last_code = code

    def forced(self) -> int | None:
        """The only allowed token when there is exactly one, else None (saves sampling)."""
        mask = self.allowed()
        return int(mask.nonzero()[0]) if int(mask.sum()) == 1 else None
