"""The logit bias of plan guidance (see `vmm.generate.guidance`), computed from the grammar's state.

Glossary: V vocabulary.
"""

from __future__ import annotations

import numpy as np
import torch

from symbolic.chords import chord_pitch_classes
from symbolic.tokenizer import VocabTable
from vmm.generate.grammar import BAR, DURATION, PITCH, POSITION, PROGRAM, TIME_SIG, VELOCITY, RemiGrammar
from vmm.generate.guidance import BASS_REGISTER, PlanGuidance


def duration_positions(tokenizer, positions_per_beat: int) -> np.ndarray:
    """[V] int64 length of every `Duration` token in positions ("Duration_1.2.8" = 1 + 2/8 beats), -1 elsewhere."""
    out = np.full(len(tokenizer), -1, dtype=np.int64)
    for name, index in tokenizer.vocab.items():
        if name.startswith("Duration_"):
            beats, fraction, resolution = (int(part) for part in name.removeprefix("Duration_").split("."))
            out[index] = round((beats + fraction / resolution) * positions_per_beat)
    return out


class GuidanceBias:
    """The logit bias of one generation: `bias(grammar)` for the next token, from the grammar's state;
    `take(grammar, token_id)` after each token (it remembers the notes that may still sound).

    Args:
        guidance: the settings.
        table: the tokenizer's vocabulary table.
        density: [n_bars] target notes per bar.
        chords: [n_beats] planned chord id per beat (0 = no chord).
        beats_per_bar: beats in a bar (for the spread's slack of one beat's notes).
        durations: [V] length of Duration tokens in positions (`duration_positions`), -1 elsewhere.
    """

    def __init__(self, guidance: PlanGuidance, table: VocabTable, density: np.ndarray, chords: np.ndarray,
                 beats_per_bar: int, durations: np.ndarray):
        self.guidance = guidance
        self.density = np.asarray(density, dtype=np.float64)
        self.chords = np.asarray(chords, dtype=np.int64)
        self.beats_per_bar = beats_per_bar
        codes = torch.from_numpy(table.codes)
        values = torch.from_numpy(table.value)
        self._pitch_class = torch.where(codes == PITCH, values % 12, torch.full_like(values, -1))
        self._bass = (codes == PITCH) & (values < BASS_REGISTER)
        self._position = torch.from_numpy(table.position).double()
        self._is_position = codes == POSITION
        self._is_bar = codes == BAR
        self._is_program = codes == PROGRAM
        self._chord_cache: dict[int, torch.Tensor] = {}
        self._durations = torch.from_numpy(durations)
        self._is_duration = self._durations >= 0
        self.positions_per_beat = table.positions_per_beat
        self._classes = {chord: set(chord_pitch_classes(chord)) for chord in np.unique(self.chords) if chord}
        self._notes: list[tuple[int, int, int]] = []  # (pitch class, start, end) in positions from the start
        self._chords_guided = max(guidance.chord_bonus, guidance.root_bonus, guidance.fill_bonus) > 0

    def _now(self, grammar: RemiGrammar) -> int:
        """Position of the grammar's current time, counted from the start of the piece."""
        return grammar.timeline.bar_first_beat * self.positions_per_beat + max(grammar.timeline.position, 0)

    def take(self, grammar: RemiGrammar, token_id: int) -> None:
        """Note the token just taken (after `grammar.advance`): a finished pitched note is remembered."""
        if grammar.last_code != DURATION or grammar.program == -1 or self.guidance.fill_bonus == 0:
            return
        start = self._now(grammar)
        beat_start = start - start % self.positions_per_beat
        self._notes = [note for note in self._notes if note[2] > beat_start]
        self._notes.append((grammar.pitch % 12, start, start + int(self._durations[token_id])))

    def bias(self, grammar: RemiGrammar) -> torch.Tensor | None:
        """[V] float nats to add to the next token's logits, or None when nothing applies."""
        code = grammar.last_code
        if code == PROGRAM and grammar.program != -1 and self._chords_guided:
            beat = min(grammar.beat, len(self.chords) - 1)
            return self._chord_bias(int(self.chords[beat]), beat)
        if code == VELOCITY and grammar.program != -1 and self.guidance.hold_penalty > 0:
            return self._hold_bias(grammar)
        if code in (TIME_SIG, DURATION) and self.guidance.density_spread > 0:
            bar = min(grammar.bars_started - 1, len(self.density) - 1)
            return self._spread_bias(self.density[bar], grammar.notes_in_bar, grammar.timeline.position,
                                     grammar.positions_in_bar)
        return None

    def _chord_bias(self, chord: int, beat: int) -> torch.Tensor | None:
        """Chord tones up, the root more in the bass, and the chord tones not yet sounding in the beat more."""
        if chord == 0:
            return None
        if chord not in self._chord_cache:
            classes = chord_pitch_classes(chord)
            in_chord = torch.isin(self._pitch_class, torch.tensor(classes))
            root = self._bass & (self._pitch_class == classes[0])
            self._chord_cache[chord] = (self.guidance.chord_bonus * in_chord.float()
                                        + self.guidance.root_bonus * root.float())
        bias = self._chord_cache[chord]
        if self.guidance.fill_bonus > 0:
            beat_start = beat * self.positions_per_beat
            sounding = {pc for pc, start, end in self._notes
                        if end > beat_start and start < beat_start + self.positions_per_beat}
            missing = sorted(self._classes[chord] - sounding)
            if missing:
                bias = bias + self.guidance.fill_bonus * torch.isin(self._pitch_class, torch.tensor(missing)).float()
        return bias

    def _hold_bias(self, grammar: RemiGrammar) -> torch.Tensor | None:
        """Penalise durations that hold the note into a later beat whose planned chord lacks its pitch class."""
        pitch_class = grammar.pitch % 12
        beat = grammar.beat
        while beat + 1 < len(self.chords):
            beat += 1
            chord = int(self.chords[beat])
            if chord != 0 and pitch_class not in self._classes[chord]:
                break
        else:
            return None
        room = beat * self.positions_per_beat - self._now(grammar)
        too_long = self._is_duration & (self._durations > room)
        return too_long.float() * -self.guidance.hold_penalty

    def _spread_bias(self, target: float, notes: int, position: int, positions: int) -> torch.Tensor:
        """Penalise choices that leave the bar's count more than one beat's notes off pro rata.

        Moving to Position q (or closing the bar, q = positions) means reaching q with `notes` notes,
        where target * q / positions are due; another note at the current position means notes + 1
        where target * (position + 1) / positions are due.
        """
        per_position = target / positions
        slack = target / self.beats_per_bar
        lag = (per_position * self._position - notes - slack).clamp(min=0)
        bias = torch.where(self._is_position, -self.guidance.density_spread * lag, 0.0)
        bar_lag = max(target - notes - slack, 0.0)
        lead = max(notes + 1 - per_position * (position + 1) - slack, 0.0)
        bias = bias.masked_fill(self._is_bar, -self.guidance.density_spread * bar_lag)
        return bias.masked_fill(self._is_program, -self.guidance.density_spread * lead).float()
