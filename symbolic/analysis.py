"""Analysis of a score: note density per bar, onset strength per beat, key, chords per beat and bar.

These are the training controls (DESIGN.md: at training time the video rhythm controls come from the
music itself). Input is a `symusic.Score` in ticks, as symusic reads it. Drum tracks are left out of
everything that depends on pitch (key, chords) but count for rhythm (density, strength).
"""

from __future__ import annotations

import re

import numpy as np
import symusic

from symbolic.chords import (
    MIN_SCORE,
    NO_CHORD,
    PITCH_NAMES,
    chord_scores,
    chords_at_times,
    parse_note_name,
)
from symbolic.errors import SymbolicError
from symbolic.grid import BeatGrid, NoteArrays, beat_grid, note_arrays, ticks_to_seconds

__all__ = [
    "BeatGrid", "beat_grid", "bar_note_density", "beat_onset_strength", "estimate_key", "key_name", "parse_key",
    "pitch_class_profiles", "chords_per_beat", "chords_per_bar", "progression_per_beat", "annotated_chords_per_beat",
]

# Krumhansl-Kessler key profiles (C major, C minor), as used by the Krumhansl-Schmuckler algorithm.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MODES = ("major", "minor")


def _grid(score: symusic.Score, grid: BeatGrid | None) -> BeatGrid:
    return beat_grid(score) if grid is None else grid


def bar_note_density(score: symusic.Score, grid: BeatGrid | None = None) -> np.ndarray:
    """Note onsets per bar, all tracks including drums (the drums are part of how busy a bar sounds).

    Returns:
        [n_bars] int64 counts; onsets after the grid's end are not counted.
    """
    grid = _grid(score, grid)
    bars = grid.bar_of(note_arrays(score).start)
    inside = (bars >= 0) & (bars < grid.n_bars)
    return np.bincount(bars[inside], minlength=grid.n_bars).astype(np.int64)


def beat_onset_strength(score: symusic.Score, grid: BeatGrid | None = None, tolerance: float = 0.25) -> np.ndarray:
    """How strongly each beat is attacked: velocity-weighted onsets near the beat, scaled to [0, 1].

    An onset counts for a beat when it lies within `tolerance` beats of the beat's start (either side),
    weighted by velocity / 127; all tracks count, drums included. The sums are divided by the piece's
    largest, so the strongest beat is 1 (all zeros for a piece without notes).

    Returns:
        [n_beats] float64 in [0, 1].
    """
    if not 0 < tolerance <= 0.5:
        raise ValueError(f"tolerance must be in (0, 0.5] beats, got {tolerance}")
    grid = _grid(score, grid)
    notes = note_arrays(score)
    beat = grid.beat_of(notes.start)
    beat = np.clip(beat, 0, grid.n_beats - 1)
    starts, lengths = grid.beat_ticks[:-1], np.diff(grid.beat_ticks)
    offset = (notes.start - starts[beat]) / lengths[beat]  # position inside the beat, 0..1
    # Onsets just before a beat belong to that (next) beat.
    target = np.where(offset >= 1 - tolerance, beat + 1, beat)
    near = (offset <= tolerance) | (offset >= 1 - tolerance)
    near &= (notes.start >= 0) & (target < grid.n_beats)
    strength = np.bincount(target[near], weights=notes.velocity[near] / 127.0, minlength=grid.n_beats)
    peak = strength.max(initial=0.0)
    return strength / peak if peak > 0 else strength


def pitch_class_profiles(score: symusic.Score, grid: BeatGrid | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Duration-weighted pitch-class profile and bass note of every beat (drums excluded).

    Returns:
        profiles: [n_beats, 12] float64, for each pitch class the beats it sounds within the beat
            (two voices on C for a whole beat give 2.0).
        bass: [n_beats] int64, the pitch class of the lowest note sounding for at least a quarter of
            the beat (or the lowest at all), -1 for a silent beat.
    """
    grid = _grid(score, grid)
    notes = note_arrays(score).pitched()
    edges = grid.beat_ticks.astype(np.float64)
    lengths = np.diff(edges)
    profiles = np.zeros((grid.n_beats, 12))
    for pc in range(12):
        chosen = notes.select(notes.pitch % 12 == pc)
        profiles[:, pc] = np.diff(_sounding_time(chosen.start, chosen.end, edges)) / lengths
    return profiles, _bass_per_beat(notes, grid)


def _sounding_time(starts: np.ndarray, ends: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Total time notes have sounded up to each tick in `at`: sum of clip(t - start, 0, duration)."""
    starts, ends = np.sort(starts).astype(np.float64), np.sort(ends).astype(np.float64)
    cum_s = np.concatenate([[0.0], np.cumsum(starts)])
    cum_e = np.concatenate([[0.0], np.cumsum(ends)])
    n_s = np.searchsorted(starts, at, side="right")
    n_e = np.searchsorted(ends, at, side="right")
    return (n_s * at - cum_s[n_s]) - (n_e * at - cum_e[n_e])


def _bass_per_beat(notes: NoteArrays, grid: BeatGrid) -> np.ndarray:
    """Lowest pitch class sounding at least a quarter of each beat, else the lowest at all, else -1."""
    bass = np.full(grid.n_beats, -1, dtype=np.int64)
    first = np.maximum(grid.beat_of(notes.start), 0)
    last = np.minimum(grid.beat_of(np.maximum(notes.end - 1, notes.start)), grid.n_beats - 1)
    spans = np.maximum(last - first + 1, 0)
    if spans.sum() == 0:
        return bass
    # One row per (note, beat it overlaps).
    note = np.repeat(np.arange(len(notes)), spans)
    beat = first[note] + np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
    overlap = (np.minimum(notes.end[note], grid.beat_ticks[beat + 1])
               - np.maximum(notes.start[note], grid.beat_ticks[beat])) / np.diff(grid.beat_ticks)[beat]
    lowest_any = np.full(grid.n_beats, 128)
    lowest_long = np.full(grid.n_beats, 128)
    np.minimum.at(lowest_any, beat, notes.pitch[note])
    long = overlap >= 0.25
    np.minimum.at(lowest_long, beat[long], notes.pitch[note[long]])
    lowest = np.where(lowest_long < 128, lowest_long, lowest_any)
    return np.where(lowest < 128, lowest % 12, -1)


def estimate_key(score: symusic.Score) -> tuple[int, str]:
    """Key by Krumhansl-Schmuckler: correlate the duration-weighted pitch-class histogram (drums
    excluded) with the 24 rotated Krumhansl-Kessler profiles.

    Returns:
        (tonic pitch class, "major" | "minor").
    """
    notes = note_arrays(score).pitched()
    histogram = np.bincount(notes.pitch % 12, weights=(notes.end - notes.start).astype(np.float64), minlength=12)
    if histogram.sum() <= 0:
        raise SymbolicError("the score has no pitched notes to estimate a key from (drums only, or empty)")
    best, best_r = (0, "major"), -np.inf
    for mode, profile in zip(MODES, (MAJOR_PROFILE, MINOR_PROFILE), strict=True):
        for tonic in range(12):
            r = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
            if r > best_r:
                best, best_r = (tonic, mode), r
    return best


def key_name(tonic: int, mode: str) -> str:
    """ "A minor", "Eb major" (flats and sharps as in chord names)."""
    if mode not in MODES:
        raise SymbolicError(f"unknown mode {mode!r}; use 'major' or 'minor'")
    return f"{PITCH_NAMES[int(tonic) % 12]} {mode}"


_MODE_WORDS = {"": "major", "M": "major", "maj": "major", "major": "major", "ionian": "major", "m": "minor", "min": "minor",
               "minor": "minor", "aeolian": "minor"}


def parse_key(text: str) -> tuple[int, str]:
    """Parse a key: "A minor", "Am", "F# major", "Gb:maj", "C", "Bb min".

    Returns:
        (tonic pitch class, "major" | "minor").
    """
    match = re.fullmatch(r"\s*([A-Ga-g][#b♯♭]*)\s*[:\s]?\s*([A-Za-z]*)\s*", text)
    if match is not None:
        tonic_text, mode_text = match.groups()
        mode = _MODE_WORDS.get(mode_text if mode_text in ("m", "M") else mode_text.lower())
        if mode is not None:
            return parse_note_name(tonic_text), mode
    raise SymbolicError(f"unknown key {text!r}; write a tonic A-G with optional #/b and a mode, "
                        "e.g. 'A minor', 'Am', 'F# major', 'Gb:maj'")


# Chord smoothing: penalty for changing chord, by where the change falls. Chords mostly change at bar
# lines, often at half bars, rarely on other beats. Values chosen on POP909 songs 001-060, like the
# quality priors in symbolic.chords.
SWITCH_PENALTY = {"bar": 0.1, "half": 0.2, "beat": 0.4}


def _switch_penalties(grid: BeatGrid) -> np.ndarray:
    """[n_beats] penalty for a chord change at the start of each beat."""
    position = np.arange(grid.n_beats) - grid.bar_first_beat[grid.beat_bar]
    per_bar = grid.beats_per_bar[grid.beat_bar]
    half = (per_bar % 2 == 0) & (position == per_bar // 2)
    return np.where(position == 0, SWITCH_PENALTY["bar"], np.where(half, SWITCH_PENALTY["half"],
                                                                    SWITCH_PENALTY["beat"]))


def _viterbi(emission: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """Best path through [T, C] emission scores where changing state at step t costs penalty[t]."""
    steps, states = emission.shape
    delta = emission[0].copy()
    stay = np.zeros((steps, states), dtype=bool)
    best_before = np.zeros(steps, dtype=np.int64)
    for t in range(1, steps):
        best = int(np.argmax(delta))
        switched = delta[best] - penalty[t]
        stay[t] = delta >= switched
        best_before[t] = best
        delta = np.where(stay[t], delta, switched) + emission[t]
    path = np.empty(steps, dtype=np.int64)
    path[-1] = int(np.argmax(delta))
    for t in range(steps - 1, 0, -1):
        path[t - 1] = path[t] if stay[t, path[t]] else best_before[t]
    return path


def chords_per_beat(score: symusic.Score, grid: BeatGrid | None = None, *, min_score: float = MIN_SCORE) -> np.ndarray:
    """Recognise the chord of every beat (drums excluded).

    Each beat's duration-weighted pitch-class profile is scored against every chord template
    (`symbolic.chords.chord_scores`, bass note included). A beat's evidence is weighted by how much
    sounds in it relative to the piece's typical beat, so a thin beat (one melody note) has little say,
    and a Viterbi pass with a penalty for changing chord (small at bar lines, larger at half bars,
    largest elsewhere) picks the sequence: sparse beats take the chord of their bar instead of
    flipping. Silent stretches become NO_CHORD (see `recognise_chord` for the rule on one profile).

    Returns:
        [n_beats] int64 chord ids.
    """
    grid = _grid(score, grid)
    profiles, bass = pitch_class_profiles(score, grid)
    energy = profiles.sum(axis=1)
    sounding = energy > 0
    if not sounding.any():
        return np.full(grid.n_beats, NO_CHORD, dtype=np.int64)
    typical = np.median(energy[sounding])
    # Squared: a beat with half the typical sound has a quarter of the say (best on POP909 001-100).
    weight = np.where(sounding, np.minimum(energy / typical, 1.0) ** 2, 1.0)
    emission = chord_scores(profiles, bass, min_score=min_score) * weight[:, None]
    # A thin beat is weak evidence for "no chord" too (a lone melody note over a held harmony): NO_CHORD
    # keeps its full score only where nothing sounds.
    emission[:, NO_CHORD] = min_score * weight**2
    return _viterbi(emission, _switch_penalties(grid))


def chords_per_bar(score: symusic.Score, grid: BeatGrid | None = None, *, beat_chords: np.ndarray | None = None
                   ) -> np.ndarray:
    """The chord of each bar: the one holding most of its beats (the earliest of equals).

    Args:
        beat_chords: [n_beats] chords per beat if already computed (else `chords_per_beat`).

    Returns:
        [n_bars] int64 chord ids.
    """
    grid = _grid(score, grid)
    beat_chords = chords_per_beat(score, grid) if beat_chords is None else np.asarray(beat_chords)
    out = np.empty(grid.n_bars, dtype=np.int64)
    for bar in range(grid.n_bars):
        chords = beat_chords[grid.bar_first_beat[bar]:grid.bar_first_beat[bar + 1]]
        values, first, counts = np.unique(chords, return_index=True, return_counts=True)
        out[bar] = values[np.lexsort((first, -counts))[0]]
    return out


def progression_per_beat(bars: list[list[int]], grid: BeatGrid) -> np.ndarray:
    """Spread a bar-wise progression (as `parse_chord_progression` returns) over the grid's beats.

    The chords of a bar share its beats evenly (chord k of m in an n-beat bar starts at beat
    floor(k n / m)); bars after the progression's end get NO_CHORD, extra bars are dropped.

    Returns:
        [n_beats] int64 chord ids.
    """
    out = np.full(grid.n_beats, NO_CHORD, dtype=np.int64)
    for bar, chords in enumerate(bars[:grid.n_bars]):
        first, n = int(grid.bar_first_beat[bar]), int(grid.beats_per_bar[bar])
        if len(chords) > n:
            raise SymbolicError(f"bar {bar + 1} has {len(chords)} chords but only {n} beats; "
                                "put at most one chord per beat")
        for k, cid in enumerate(chords):
            out[first + k * n // len(chords):first + (k + 1) * n // len(chords)] = cid
    return out


def annotated_chords_per_beat(score: symusic.Score, segments: list[tuple[float, float, int]],
                              grid: BeatGrid | None = None) -> np.ndarray:
    """Chords per beat from an annotation in seconds (e.g. `read_pop909_chords`): the chord sounding at
    the middle of each beat, converted with the score's tempo map; NO_CHORD where none is annotated.

    Returns:
        [n_beats] int64 chord ids.
    """
    grid = _grid(score, grid)
    middles = ticks_to_seconds(score, (grid.beat_ticks[:-1] + grid.beat_ticks[1:]) / 2)
    return chords_at_times(segments, middles)
