"""The beat and bar grid of a score, from its time signatures, and the note arrays analysis works on.

Bars start at tick 0 and follow the time signatures the way MidiTok does (a time signature that falls
inside a bar takes effect at the next bar line; of several at one bar line the last wins; invalid
ones are ignored; 4/4 until the first one), so the bar index of a REMI token is the bar index here.
A beat is the time signature's denominator unit: 6/8 has 6 beats of an eighth, 3/4 three quarters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import symusic

from symbolic.errors import SymbolicError

DEFAULT_TIME_SIGNATURE = (4, 4)


@dataclass(frozen=True)
class BeatGrid:
    """Beats and bars of a score, in ticks.

    Attributes:
        beat_ticks: [n_beats + 1] int64, the tick each beat starts at, then the end of the last beat.
        bar_first_beat: [n_bars + 1] int64, the index of each bar's first beat, then n_beats.
        ticks_per_quarter: the score's resolution.
    """

    beat_ticks: np.ndarray
    bar_first_beat: np.ndarray
    ticks_per_quarter: int

    def __post_init__(self) -> None:
        if len(self.beat_ticks) < 2 or np.any(np.diff(self.beat_ticks) <= 0):
            raise ValueError(f"beat_ticks must rise strictly and hold at least one beat, got {self.beat_ticks}")
        if self.bar_first_beat[0] != 0 or self.bar_first_beat[-1] != len(self.beat_ticks) - 1:
            raise ValueError(f"bar_first_beat must run from 0 to n_beats, got {self.bar_first_beat}")

    @property
    def n_beats(self) -> int:
        return len(self.beat_ticks) - 1

    @property
    def n_bars(self) -> int:
        return len(self.bar_first_beat) - 1

    @property
    def bar_ticks(self) -> np.ndarray:
        """[n_bars + 1] tick of each bar line, then the end."""
        return self.beat_ticks[self.bar_first_beat]

    @property
    def beat_bar(self) -> np.ndarray:
        """[n_beats] the bar each beat belongs to."""
        return np.repeat(np.arange(self.n_bars), np.diff(self.bar_first_beat))

    @property
    def beats_per_bar(self) -> np.ndarray:
        """[n_bars] number of beats in each bar."""
        return np.diff(self.bar_first_beat)

    def beat_of(self, ticks: np.ndarray) -> np.ndarray:
        """Index of the beat containing each tick (-1 before tick 0, n_beats after the end)."""
        return np.searchsorted(self.beat_ticks, np.asarray(ticks), side="right") - 1

    def bar_of(self, ticks: np.ndarray) -> np.ndarray:
        """Index of the bar containing each tick (-1 before tick 0, n_bars after the end)."""
        return np.searchsorted(self.bar_ticks, np.asarray(ticks), side="right") - 1


def as_ticks(score: symusic.Score) -> symusic.Score:
    """The score in ticks (symusic scores read from files already are)."""
    return score if "Tick" in str(score.ttype) else score.to("tick")


@dataclass(frozen=True)
class NoteArrays:
    """All notes of a score as flat arrays (ticks), sorted by onset. Each array is [n_notes]."""

    start: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    is_drum: np.ndarray

    def select(self, mask: np.ndarray) -> NoteArrays:
        return NoteArrays(self.start[mask], self.end[mask], self.pitch[mask], self.velocity[mask],
                          self.is_drum[mask])

    def pitched(self) -> NoteArrays:
        """Notes of non-drum tracks only."""
        return self.select(~self.is_drum)

    def __len__(self) -> int:
        return len(self.start)


def note_arrays(score: symusic.Score) -> NoteArrays:
    """Flatten every track's notes into arrays (drum tracks flagged in `is_drum`)."""
    score = as_ticks(score)
    parts = []
    for track in score.tracks:
        if len(track.notes) == 0:
            continue
        notes = track.notes.numpy()
        parts.append((notes["time"].astype(np.int64), notes["duration"].astype(np.int64),
                      notes["pitch"].astype(np.int64), notes["velocity"].astype(np.int64),
                      np.full(len(notes["time"]), bool(track.is_drum))))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return NoteArrays(empty, empty, empty, empty, np.zeros(0, dtype=bool))
    start, duration, pitch, velocity, is_drum = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.argsort(start, kind="stable")
    duration = np.maximum(duration, 0)
    return NoteArrays(start[order], (start + duration)[order], pitch[order], velocity[order], is_drum[order])


def _valid_signatures(score: symusic.Score) -> list[tuple[int, int, int]]:
    signatures = sorted(((int(ts.time), int(ts.numerator), int(ts.denominator)) for ts in score.time_signatures),
                        key=lambda item: item[0])
    return [s for s in signatures if s[1] > 0 and s[2] > 0]


def beat_grid(score: symusic.Score, min_end_tick: int = 0) -> BeatGrid:
    """Beat and bar grid of a score, from tick 0 until the bar holding the last note end.

    Args:
        score: a symusic Score (converted to ticks if needed).
        min_end_tick: cover at least up to this tick (e.g. to compare with a longer plan).

    Returns:
        the BeatGrid; at least one bar, even for an empty score.
    """
    score = as_ticks(score)
    tpq = int(score.ticks_per_quarter)
    if tpq <= 0:
        raise SymbolicError(f"the score has {tpq} ticks per quarter; it needs a positive resolution")
    notes = note_arrays(score)
    end_tick = max(int(notes.end.max()) if len(notes) else 0, int(min_end_tick), 1)

    # Sections (start tick, numerator, denominator) after moving each change to the next bar line.
    sections: list[tuple[float, int, int]] = [(0.0, *DEFAULT_TIME_SIGNATURE)]
    for time, numerator, denominator in _valid_signatures(score):
        start, num, den = sections[-1]
        bar_len = tpq * 4 * num / den
        bar_line = start + np.ceil(max(time - start, 0) / bar_len - 1e-9) * bar_len
        if bar_line <= start:
            sections[-1] = (start, numerator, denominator)
        elif (num, den) != (numerator, denominator):
            sections.append((bar_line, numerator, denominator))

    beats: list[float] = []
    bar_first_beat: list[int] = []
    tick = 0.0
    for index, (start, num, den) in enumerate(sections):
        beat_len = tpq * 4 / den
        stop = sections[index + 1][0] if index + 1 < len(sections) else np.inf
        tick = start
        while tick < min(stop, end_tick):
            bar_first_beat.append(len(beats))
            beats.extend(tick + k * beat_len for k in range(num))
            tick += num * beat_len
        if tick >= end_tick:
            break  # later signatures start after the last note
    beats.append(tick)
    bar_first_beat.append(len(beats) - 1)
    return BeatGrid(np.round(np.array(beats)).astype(np.int64), np.array(bar_first_beat, dtype=np.int64), tpq)


def ticks_to_seconds(score: symusic.Score, ticks: np.ndarray) -> np.ndarray:
    """Convert ticks to seconds with the score's tempo map (120 BPM before the first tempo).

    Args:
        ticks: [...] ticks.

    Returns:
        [...] float64 seconds.
    """
    score = as_ticks(score)
    tpq = float(score.ticks_per_quarter)
    changes = sorted((int(t.time), float(t.mspq)) for t in score.tempos)
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 500_000.0))
    times = np.array([c[0] for c in changes], dtype=np.float64)
    seconds_per_tick = np.array([c[1] for c in changes]) / 1e6 / tpq
    # Seconds at each tempo change, then linear within a segment.
    offsets = np.concatenate([[0.0], np.cumsum(np.diff(times) * seconds_per_tick[:-1])])
    ticks = np.asarray(ticks, dtype=np.float64)
    index = np.clip(np.searchsorted(times, ticks, side="right") - 1, 0, len(times) - 1)
    return offsets[index] + (ticks - times[index]) * seconds_per_tick[index]
