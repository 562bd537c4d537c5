"""What each token id of the REMI tokenizer is: its kind and its value, as arrays over the vocabulary.

The grammar and the generator look these up per sampled token, so they are computed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Kind(IntEnum):
    SPECIAL = 0
    BAR = 1
    TIME_SIG = 2
    POSITION = 3
    TEMPO = 4
    PROGRAM = 5
    PITCH = 6
    PITCH_DRUM = 7
    VELOCITY = 8
    DURATION = 9
    OTHER = 10


_PREFIX_KIND = {
    "Bar": Kind.BAR,
    "TimeSig": Kind.TIME_SIG,
    "Position": Kind.POSITION,
    "Tempo": Kind.TEMPO,
    "Program": Kind.PROGRAM,
    "Pitch": Kind.PITCH,
    "PitchDrum": Kind.PITCH_DRUM,
    "Velocity": Kind.VELOCITY,
    "Duration": Kind.DURATION,
}


@dataclass(frozen=True)
class Vocabulary:
    """Per-id token facts.

    Attributes:
        names: token strings, [V].
        kinds: Kind of each id, [V] int.
        values: the integer value where there is one (position, program, pitch), else -1, [V].
        tempos: BPM of Tempo tokens, NaN elsewhere, [V].
        time_sigs: (numerator, denominator) of TimeSig ids, {id: (n, d)}.
    """

    names: list[str]
    kinds: np.ndarray
    values: np.ndarray
    tempos: np.ndarray
    time_sigs: dict[int, tuple[int, int]]

    @classmethod
    def from_tokenizer(cls, tokenizer) -> Vocabulary:
        vocab: dict[str, int] = tokenizer.vocab
        size = len(tokenizer)
        names = [""] * size
        kinds = np.full(size, Kind.OTHER, dtype=np.int64)
        values = np.full(size, -1, dtype=np.int64)
        tempos = np.full(size, np.nan)
        time_sigs = {}
        for name, token_id in vocab.items():
            names[token_id] = name
            prefix, _, value = name.partition("_")
            kind = _PREFIX_KIND.get(prefix, Kind.SPECIAL if value == "None" else Kind.OTHER)
            kinds[token_id] = kind
            if kind in (Kind.POSITION, Kind.PROGRAM, Kind.PITCH, Kind.PITCH_DRUM):
                values[token_id] = int(value)
            elif kind == Kind.TEMPO:
                tempos[token_id] = float(value)
            elif kind == Kind.TIME_SIG:
                numerator, denominator = value.split("/")
                time_sigs[token_id] = (int(numerator), int(denominator))
        return cls(names, kinds, values, tempos, time_sigs)

    def __len__(self) -> int:
        return len(self.names)

    def ids_of(self, kind: Kind) -> np.ndarray:
        return np.flatnonzero(self.kinds == kind)

    def bar_id(self) -> int:
        return int(self.ids_of(Kind.BAR)[0])

    def time_sig_id(self, numerator: int, denominator: int) -> int:
        for token_id, sig in self.time_sigs.items():
            if sig == (numerator, denominator):
                return token_id
        known = ", ".join(f"{n}/{d}" for n, d in sorted(self.time_sigs.values()))
        raise ValueError(f"time signature {numerator}/{denominator} is not in the tokenizer (known: {known})")

    def nearest_tempo_id(self, bpm: float) -> int:
        ids = self.ids_of(Kind.TEMPO)
        return int(ids[np.argmin(np.abs(self.tempos[ids] - bpm))])

    def program_ids(self, programs: list[int] | None) -> np.ndarray:
        """Ids of the Program tokens for `programs` (-1 = drums); all of them when None."""
        ids = self.ids_of(Kind.PROGRAM)
        if programs is None:
            return ids
        return ids[np.isin(self.values[ids], programs)]
