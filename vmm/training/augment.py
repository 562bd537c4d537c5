"""Pitch-transposition augmentation on token ids: notes, chords and key move together.

REMI writes every note `Program_p Pitch_n Velocity_v Duration_d` (drums: `Program_-1 PitchDrum_n ...`).
A shift of s semitones maps each `Pitch_n` to `Pitch_{n+s}`; drum notes (`PitchDrum` tokens, or `Pitch`
tokens after `Program_-1` in tokenizers without PitchDrum tokens) stay. A note whose new pitch leaves
the tokenizer's range is dropped whole (its Program, Pitch, Velocity and Duration tokens), so the
sequence stays valid REMI. Chord ids (symbolic.chords) move their root by s, the key its tonic.

Glossary: T tokens, V vocabulary size, K beats.
"""

from __future__ import annotations

import numpy as np

from symbolic.chords import NO_CHORD, QUALITIES

UNKNOWN_KEY = 24


class Transposer:
    """Lookup tables for transposing token ids of one vocabulary.

    Args:
        vocab: token string -> id (`tokenizer.vocab`).
        max_shift: the largest |shift| in semitones that will be asked for.
    """

    def __init__(self, vocab: dict[str, int], max_shift: int = 12) -> None:
        size = max(vocab.values()) + 1
        self.max_shift = max_shift
        self.kind = np.zeros(size, dtype=np.int8)  # 0 other, 1 pitch, 2 program, 3 note attribute
        self.program = np.full(size, -2, dtype=np.int64)
        pitch_of = np.full(size, -1, dtype=np.int64)
        id_of_pitch = {}
        for name, index in vocab.items():
            prefix, _, value = name.partition("_")
            if prefix == "Pitch":
                self.kind[index], pitch_of[index] = 1, int(value)
                id_of_pitch[int(value)] = index
            elif prefix == "Program":
                self.kind[index], self.program[index] = 2, int(value)
            elif prefix in ("Velocity", "Duration"):
                self.kind[index] = 3
        # tables[s + max_shift][id] = transposed id, or -1 where a pitch leaves the range.
        shifts = range(-max_shift, max_shift + 1)
        self.tables = np.tile(np.arange(size, dtype=np.int64), (len(shifts), 1))
        pitch_ids = np.flatnonzero(self.kind == 1)
        for row, shift in enumerate(shifts):
            self.tables[row, pitch_ids] = [id_of_pitch.get(int(pitch_of[i]) + shift, -1) for i in pitch_ids]

    def tokens(self, ids: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
        """Transpose a token sequence.

        Args:
            ids: [T] token ids.
            shift: semitones, |shift| <= max_shift.

        Returns:
            new ids [T'] and keep [T] bool (False for tokens of dropped notes), T' = keep.sum().
        """
        if abs(shift) > self.max_shift:
            raise ValueError(f"shift {shift} is outside +-{self.max_shift} semitones")
        ids = np.asarray(ids, dtype=np.int64)
        if shift == 0:
            return ids.copy(), np.ones(len(ids), dtype=bool)
        new = self.tables[shift + self.max_shift][ids]
        is_pitch = self.kind[ids] == 1
        drums = is_pitch & (self._current_program(ids) == -1)
        new[drums] = ids[drums]
        keep = np.ones(len(ids), dtype=bool)
        for i in np.flatnonzero(new < 0):
            self._drop_note(ids, keep, i)
        return new[keep], keep

    def _current_program(self, ids: np.ndarray) -> np.ndarray:
        """[T] the program of the last Program token at or before each token (-2 before any)."""
        programs = self.program[ids]
        index = np.where(self.kind[ids] == 2, np.arange(len(ids)), -1)
        last = np.maximum.accumulate(index)
        return np.where(last >= 0, programs[np.maximum(last, 0)], -2)

    def _drop_note(self, ids: np.ndarray, keep: np.ndarray, i: int) -> None:
        keep[i] = False
        if i > 0 and self.kind[ids[i - 1]] == 2:
            keep[i - 1] = False
        j = i + 1
        while j < len(ids) and self.kind[ids[j]] == 3:
            keep[j] = False
            j += 1


def transpose_chords(chords: np.ndarray, shift: int) -> np.ndarray:
    """Move the root of every chord id (symbolic.chords layout) by `shift` semitones; N stays N.

    Args:
        chords: [...] chord ids.

    Returns:
        [...] chord ids, same dtype.
    """
    chords = np.asarray(chords)
    ids = chords.astype(np.int64)
    root, quality = np.divmod(ids - 1, len(QUALITIES))
    moved = 1 + ((root + shift) % 12) * len(QUALITIES) + quality
    return np.where(ids == NO_CHORD, NO_CHORD, moved).astype(chords.dtype)


def transpose_key(key: int, shift: int) -> int:
    """Key id tonic + 12 * minor moved by `shift`; unknown (24 or negative) stays unknown."""
    key = int(key)
    if key < 0 or key >= UNKNOWN_KEY:
        return UNKNOWN_KEY
    return (key % 12 + shift) % 12 + 12 * (key // 12)
