"""Objective metrics on scores, to compare generated music with real music.

None of these is "higher is better": a model is judged by how close its values come to the values of
real music of the same kind (compute them on the validation set with the same function), except the
two metrics against a plan (chord accuracy: higher is better; density error: lower is better).
Pitch-based metrics ignore drum tracks; rhythm-based ones (grooving, empty beats, density) count them.
Functions return NaN where the quantity is undefined (no pitched notes, fewer than two bars, ...).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import symusic

from symbolic.analysis import bar_note_density, chords_per_beat
from symbolic.chords import NO_CHORD, chord_root, reduce_to_triad
from symbolic.errors import SymbolicError
from symbolic.grid import BeatGrid, beat_grid, note_arrays

ChordLevel = Literal["exact", "triad", "root"]


def _grid(score: symusic.Score, grid: BeatGrid | None) -> BeatGrid:
    return beat_grid(score) if grid is None else grid


def _entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def pitch_class_entropy(score: symusic.Score, grid: BeatGrid | None = None, window_bars: int | None = None
                        ) -> float:
    """Shannon entropy (bits) of the pitch-class histogram of note onsets, drums excluded (MusDr H).

    0 bits is one pitch class only, log2(12) = 3.58 bits all twelve equally; real tonal music lies
    between (POP909 around 3). Closer to the real music's value is better: too high sounds atonal,
    too low monotonous.

    Args:
        window_bars: None for the whole piece; else the mean over consecutive windows of that many bars
            (MusDr's H1 and H4), windows without notes skipped.
    """
    notes = note_arrays(score).pitched()
    if len(notes) == 0:
        return float("nan")
    if window_bars is None:
        return _entropy_bits(np.bincount(notes.pitch % 12, minlength=12).astype(np.float64))
    if window_bars < 1:
        raise ValueError(f"window_bars must be at least 1, got {window_bars}")
    window = _grid(score, grid).bar_of(notes.start) // window_bars
    values = [_entropy_bits(np.bincount(notes.pitch[window == w] % 12, minlength=12).astype(np.float64))
              for w in np.unique(window)]
    return float(np.mean(values))


def onset_patterns(score: symusic.Score, grid: BeatGrid | None = None, positions_per_beat: int = 4) -> np.ndarray:
    """Binary onset grid per bar (all tracks, drums included), onsets rounded to the nearest position.

    Returns:
        [n_bars, positions] bool, positions = positions_per_beat x the longest bar's beats (shorter
        bars are padded with False).
    """
    grid = _grid(score, grid)
    notes = note_arrays(score)
    beat = np.clip(grid.beat_of(notes.start), 0, grid.n_beats - 1)
    lengths = np.diff(grid.beat_ticks)
    # Position on the piece-wide grid, rounded; an onset rounding up past a bar line belongs to the next bar.
    step = np.rint(beat * positions_per_beat + (notes.start - grid.beat_ticks[beat]) / lengths[beat]
                   * positions_per_beat).astype(np.int64)
    bar_start_step = grid.bar_first_beat * positions_per_beat
    bar = np.searchsorted(bar_start_step, step, side="right") - 1
    inside = (bar >= 0) & (bar < grid.n_bars)
    patterns = np.zeros((grid.n_bars, int(grid.beats_per_bar.max()) * positions_per_beat), dtype=bool)
    patterns[bar[inside], (step - bar_start_step[bar.clip(0, grid.n_bars)])[inside]] = True
    return patterns


def grooving_pattern_similarity(score: symusic.Score, grid: BeatGrid | None = None,
                                positions_per_beat: int = 4) -> float:
    """Grooving pattern similarity (CMT / MusDr GS): mean over all pairs of bars of 1 - Hamming / length.

    Each bar is a binary vector of onset positions (`onset_patterns`: 16th notes by default, all tracks).
    1 means every bar has the same rhythm. Closer to real music is better: too high is mechanical,
    too low has no steady groove.

    Returns:
        similarity in [0, 1]; NaN for fewer than two bars.
    """
    patterns = onset_patterns(score, grid, positions_per_beat).astype(np.float64)
    n_bars, length = patterns.shape
    if n_bars < 2:
        return float("nan")
    # Hamming distance of every pair: ones in a but not b, plus ones in b but not a.
    hamming = patterns @ (1 - patterns).T + (1 - patterns) @ patterns.T
    pairs = np.triu_indices(n_bars, k=1)
    return float(np.mean(1.0 - hamming[pairs] / length))


def chord_accuracy(score: symusic.Score, chord_plan: np.ndarray, grid: BeatGrid | None = None,
                   level: ChordLevel = "exact") -> float:
    """Share of planned beats whose recognised chord matches the plan (higher is better).

    Args:
        chord_plan: [n_plan_beats] chord ids per beat of the score's grid (e.g. from
            `analysis.progression_per_beat`); beats planned as NO_CHORD are not counted, planned beats
            past the end of the music count as misses.
        level: "exact" (same chord id), "triad" (Am7 matches Am), or "root" (same root).

    Returns:
        accuracy in [0, 1]; NaN when the plan holds no chord.
    """
    plan = np.asarray(chord_plan, dtype=np.int64)
    grid = _grid(score, grid)
    recognised = np.full(len(plan), NO_CHORD, dtype=np.int64)
    found = chords_per_beat(score, grid)[:len(plan)]
    recognised[:len(found)] = found
    planned = plan != NO_CHORD
    if not planned.any():
        return float("nan")
    if level == "triad":
        reduce = np.vectorize(reduce_to_triad, otypes=[np.int64])
        plan, recognised = reduce(plan), reduce(recognised)
    elif level == "root":
        root = np.vectorize(chord_root, otypes=[np.int64])
        plan, recognised = root(plan), root(recognised)
    elif level != "exact":
        raise ValueError(f"level must be 'exact', 'triad' or 'root', got {level!r}")
    return float(np.mean(plan[planned] == recognised[planned]))


def note_density_error(score: symusic.Score, density_targets: np.ndarray, grid: BeatGrid | None = None) -> float:
    """Mean |onsets per bar - target| over the target bars, divided by the mean target (lower is better).

    Onsets count all tracks (as `analysis.bar_note_density`). Normalising by the mean number of notes
    per bar makes pieces of different busyness comparable (CMT reports 0.107 with this definition).
    Bars beyond the music count as 0 notes; bars beyond the targets are ignored.

    Args:
        density_targets: [n_target_bars] notes per bar.
    """
    targets = np.asarray(density_targets, dtype=np.float64)
    if targets.ndim != 1 or len(targets) == 0 or np.any(targets < 0) or targets.mean() <= 0:
        raise SymbolicError("density targets must be a non-empty list of non-negative notes per bar, "
                            "not all zero")
    generated = np.zeros(len(targets))
    density = bar_note_density(score, grid)[:len(targets)]
    generated[:len(density)] = density
    return float(np.mean(np.abs(generated - targets)) / targets.mean())


def empty_beat_rate(score: symusic.Score, grid: BeatGrid | None = None) -> float:
    """Share of beats in which no note (drums included) sounds at all. Closer to real is better.

    A note sounds in a beat when its span [start, end) overlaps the beat's span.
    """
    grid = _grid(score, grid)
    notes = note_arrays(score)
    first = np.clip(grid.beat_of(notes.start), 0, grid.n_beats)
    last = np.clip(grid.beat_of(np.maximum(notes.end - 1, notes.start)), -1, grid.n_beats - 1)
    keep = (notes.end > notes.start) & (first <= last)
    # Difference array: +1 where a note starts covering beats, -1 after its last beat.
    cover = np.zeros(grid.n_beats + 1, dtype=np.int64)
    np.add.at(cover, first[keep], 1)
    np.add.at(cover, last[keep] + 1, -1)
    return float(np.mean(np.cumsum(cover[:-1]) == 0))


def pitch_range(score: symusic.Score) -> float:
    """Highest minus lowest MIDI pitch over non-drum notes, in semitones. Closer to real is better.

    Returns:
        NaN without pitched notes.
    """
    notes = note_arrays(score).pitched()
    return float(notes.pitch.max() - notes.pitch.min()) if len(notes) else float("nan")


def polyphony(score: symusic.Score) -> float:
    """Mean number of notes sounding at each distinct onset time, drums excluded (a note sounds at t
    when start <= t < end). 1 is monophonic; a melody over triads is about 4. Closer to real is better.

    Returns:
        NaN without pitched notes.
    """
    notes = note_arrays(score).pitched()
    if len(notes) == 0:
        return float("nan")
    onsets = np.unique(notes.start)
    started = np.searchsorted(np.sort(notes.start), onsets, side="right")
    ended = np.searchsorted(np.sort(notes.end), onsets, side="right")
    return float(np.mean(started - ended))


def score_metrics(score: symusic.Score, chord_plan: np.ndarray | None = None,
                  density_targets: np.ndarray | None = None, grid: BeatGrid | None = None) -> dict[str, float]:
    """Every metric of one score, plus the plan metrics when a plan is given.

    Returns:
        {"pitch_class_entropy", "grooving_similarity", "empty_beat_rate", "pitch_range", "polyphony",
        "notes_per_bar", and "chord_accuracy" (with chord_plan), "density_error" (with density_targets)}.
    """
    grid = _grid(score, grid)
    metrics = {
        "pitch_class_entropy": pitch_class_entropy(score),
        "grooving_similarity": grooving_pattern_similarity(score, grid),
        "empty_beat_rate": empty_beat_rate(score, grid),
        "pitch_range": pitch_range(score),
        "polyphony": polyphony(score),
        "notes_per_bar": float(bar_note_density(score, grid).mean()),
    }
    if chord_plan is not None:
        metrics["chord_accuracy"] = chord_accuracy(score, chord_plan, grid)
    if density_targets is not None:
        metrics["density_error"] = note_density_error(score, density_targets, grid)
    return metrics
