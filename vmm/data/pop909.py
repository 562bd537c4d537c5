"""POP909-style annotations beside a MIDI file: beats and downbeats, chords, key.

Layout: `DIR/NNN/NNN.mid` with `beat_midi.txt` (`time_s is_beat is_downbeat`), `chord_midi.txt`
(`start_s end_s label`) and `key_audio.txt` (`start_s end_s key`) beside it, times in the MIDI's seconds.

Why align: POP909's MIDI files state a 1/4 or 2/4 metre and their beats sit at an arbitrary phase
from tick 0 (e.g. half a beat late), so a tick-0 grid would put every bar line in the wrong place.
`align_to_beats` shifts the score so that the first annotated downbeat falls on a bar line and sets
the metre the downbeats show (beats per bar = the most common downbeat spacing).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from symusic import Score, TimeSignature

from symbolic.analysis import parse_key
from symbolic.errors import SymbolicError
from symbolic.grid import ticks_to_seconds

log = logging.getLogger(__name__)

BEAT_FILE, CHORD_FILE, KEY_FILE = "beat_midi.txt", "chord_midi.txt", "key_audio.txt"

# POP909's three tracks are all piano (program 0). Distinct programs per role let the model tell the
# melody, the bridge (counter-melody) and the accompaniment apart; vmm.arrange maps them back onto the
# instruments a user asks for.
ROLE_PROGRAMS = {"melody": 73, "accompaniment": 0, "bridge": 11}
ROLE_OF_TRACK_NAME = {"MELODY": "melody", "BRIDGE": "bridge", "PIANO": "accompaniment"}


def assign_role_programs(score: Score) -> Score:
    """A copy of `score` whose MELODY/BRIDGE/PIANO tracks carry their ROLE_PROGRAMS (others unchanged)."""
    score = score.copy()
    for track in score.tracks:
        role = ROLE_OF_TRACK_NAME.get(track.name.strip().upper())
        if role is not None and not track.is_drum:
            track.program = ROLE_PROGRAMS[role]
    return score


@dataclass(frozen=True)
class Alignment:
    """How a score was moved onto its annotated bars.

    Attributes:
        shift_ticks: ticks added to every event (negative: leading silence removed).
        time_signatures: (tick, beats per bar) of each bar-length change, ticks after the shift;
            the beat is a quarter note.
    """

    shift_ticks: int
    time_signatures: tuple[tuple[int, int], ...]


MAX_BEATS_PER_BAR = 7  # longer annotated bars (a missed downbeat) are split into bars of 4


def seconds_to_ticks(score: Score, seconds: np.ndarray) -> np.ndarray:
    """Inverse of `symbolic.grid.ticks_to_seconds` for the score's tempo map.

    Args:
        seconds: [N] times in seconds (>= 0).

    Returns:
        [N] float64 ticks.
    """
    changes = sorted({0, *(int(t.time) for t in score.tempos)})
    change_ticks = np.array(changes, dtype=np.float64)
    change_seconds = ticks_to_seconds(score, change_ticks)
    seconds = np.asarray(seconds, dtype=np.float64)
    index = np.clip(np.searchsorted(change_seconds, seconds, side="right") - 1, 0, len(changes) - 1)
    # Ticks per second inside each segment, from one tick after its start.
    rate = 1.0 / np.diff(ticks_to_seconds(score, np.stack([change_ticks, change_ticks + 1])), axis=0)[0]
    return change_ticks[index] + (seconds - change_seconds[index]) * rate[index]


def read_beats(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Beat times (s) and downbeat flags of a POP909 `beat_midi.txt`."""
    try:
        rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        table = np.array([[float(x) for x in row[:3]] for row in rows], dtype=np.float64)
    except (OSError, UnicodeDecodeError, ValueError, IndexError) as error:
        raise SymbolicError(f"cannot read beat file {path}: {error}") from None
    if table.ndim != 2 or table.shape[1] < 3 or len(table) == 0:
        raise SymbolicError(f"beat file {path} has no 'time is_beat is_downbeat' lines")
    return table[:, 0], table[:, 2] > 0.5


def _bar_lengths(beats_between_downbeats: np.ndarray) -> list[int]:
    lengths = []
    for n in beats_between_downbeats.tolist():
        while n > MAX_BEATS_PER_BAR:
            lengths.append(4)
            n -= 4
        if n > 0:
            lengths.append(n)
    return lengths


def align_to_beats(score: Score, beat_file: Path) -> tuple[Score, Alignment]:
    """Shift `score` so that its annotated downbeats fall on bar lines, with the metre they show.

    Each annotated bar (downbeat to downbeat) becomes a bar of that many quarter-note beats (a time
    signature change where the length changes); the bar before the first downbeat takes the first
    bar's metre, the bars after the last keep the last one. The shift is the smallest that puts the
    first note in bar 0.

    Returns:
        the aligned score (a copy) and the alignment applied.
    """
    times, downbeat = read_beats(beat_file)
    tpq = score.ticks_per_quarter
    down = seconds_to_ticks(score, times[downbeat] if downbeat.any() else times[:1])
    lengths = _bar_lengths(np.rint(np.diff(down) / tpq).astype(np.int64)) or [4]
    # Annotated bar lines (original ticks) and the beats of the bar starting at each; the last line
    # (the last downbeat) keeps the last bar's metre.
    lines = int(round(down[0])) + tpq * np.concatenate([[0], np.cumsum(lengths)])
    metres = [*lengths, lengths[-1]]
    start, first = _bar_holding(_first_onset(score), lines, metres, tpq)
    shift = -start
    aligned = score.shift_time(shift) if shift else score.copy()
    if shift < 0:
        aligned = aligned.clip(0, int(aligned.end()) + 1, clip_end=False)  # keeps the tempo at tick 0
    elif shift > 0 and len(aligned.tempos):
        tempo = min(aligned.tempos, key=lambda t: t.time).copy()
        tempo.time = 0  # the opening silence keeps the first tempo
        aligned.tempos.insert(0, tempo)
    signatures = [(0, metres[max(first - 1, 0)])]
    for line, n in zip(lines[first:].tolist(), metres[first:], strict=True):
        if n != signatures[-1][1]:
            signatures.append((line + shift, n))
    drift = abs(lines[-1] - down[-1])  # bar lines made vs the last annotated downbeat
    if drift > tpq / 4:
        log.warning("%s: annotated downbeats are off the quarter-note grid (%.0f ticks by the end)",
                    beat_file, drift)
    aligned.time_signatures = [TimeSignature(t, n, 4) for t, n in signatures]
    return aligned, Alignment(shift, tuple(signatures))


def _bar_holding(tick: int, lines: np.ndarray, metres: list[int], tpq: int) -> tuple[int, int]:
    """Start of the bar holding `tick`, and the index of the first annotated line after that start.

    Before the first line, bars of the first metre are counted back from it; after the last line,
    bars of the last metre go on.
    """
    if tick < lines[0]:
        bar = metres[0] * tpq
        return int(lines[0] - -(-(lines[0] - tick) // bar) * bar), 0
    j = int(np.searchsorted(lines, tick, side="right")) - 1
    if j == len(lines) - 1:
        bar = metres[-1] * tpq
        return int(lines[-1] + (tick - lines[-1]) // bar * bar), len(lines)
    return int(lines[j]), j + 1


def _first_onset(score: Score) -> int:
    starts = [int(track.notes.numpy()["time"].min()) for track in score.tracks if len(track.notes)]
    return min(starts, default=0)


def read_key(path: Path) -> int:
    """Key of a POP909 `key_audio.txt` as tonic + 12 * minor: the key covering the most time."""
    try:
        lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        spans = Counter()
        for fields in lines:
            spans[fields[2]] += float(fields[1]) - float(fields[0])
    except (OSError, UnicodeDecodeError, ValueError, IndexError) as error:
        raise SymbolicError(f"cannot read key file {path}: {error}") from None
    if not spans:
        raise SymbolicError(f"key file {path} is empty")
    tonic, mode = parse_key(spans.most_common(1)[0][0])
    return tonic + 12 * (mode == "minor")
