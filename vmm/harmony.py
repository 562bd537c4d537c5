"""A chord plan for a video when the user gives none: common pop progressions in the plan's key.

One chord per bar; a new progression starts at every section start (a cut), and the last bar rests
on the tonic. The choice is seeded, so the same seed gives the same chords.
"""

from __future__ import annotations

import numpy as np

from symbolic.chords import chord_id

# Scale degrees as (semitones above the tonic, quality).
MAJOR_PROGRESSIONS = [
    [(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")],  # I V vi IV
    [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")],  # I vi IV V
    [(9, "min"), (5, "maj"), (0, "maj"), (7, "maj")],  # vi IV I V
    [(5, "maj"), (0, "maj"), (7, "maj"), (9, "min")],  # IV I V vi
    [(0, "maj"), (4, "min"), (5, "maj"), (7, "maj")],  # I iii IV V
]
MINOR_PROGRESSIONS = [
    [(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")],  # i VI III VII
    [(0, "min"), (5, "min"), (10, "maj"), (3, "maj")],  # i iv VII III
    [(0, "min"), (8, "maj"), (5, "min"), (7, "maj")],  # i VI iv V
    [(0, "min"), (10, "maj"), (8, "maj"), (7, "maj")],  # i VII VI V (Andalusian)
]


def chord_plan_for_key(
    tonic: int, mode: str, n_bars: int, beats_per_bar: int, *, section_starts: list[int] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Chord ids per beat, [n_bars * beats_per_bar].

    Args:
        tonic: pitch class of the key's tonic.
        mode: "major" or "minor".
        section_starts: bars where a new progression begins.
    """
    if mode not in ("major", "minor"):
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    progressions = MAJOR_PROGRESSIONS if mode == "major" else MINOR_PROGRESSIONS
    rng = np.random.default_rng(seed)
    starts = set(section_starts or [])
    progression, step = progressions[rng.integers(len(progressions))], 0
    per_bar = []
    for bar in range(n_bars):
        if bar in starts:
            progression, step = progressions[rng.integers(len(progressions))], 0
        degree, quality = progression[step % len(progression)]
        if bar == n_bars - 1:
            degree, quality = 0, "maj" if mode == "major" else "min"
        per_bar.append(chord_id((tonic + degree) % 12, quality))
        step += 1
    return np.repeat(np.array(per_bar, dtype=np.int64), beats_per_bar)
