"""Per-bar note-density targets from motion, percentile-matched to the training data (as CMT does).

The video's bars are ranked by motion; a bar at percentile p of the video gets the density found at
percentile p of the reference distribution of notes per bar. The music then has the density range
of real music, whatever the absolute motion level of the video.
"""

from __future__ import annotations

import numpy as np

# Notes per 4/4 bar in POP909 (800 songs, 64,697 bars; all three tracks; bars from the dataset's
# downbeat annotations, bars before the first and after the last note left out), at percentiles
# 0, 2.5, 5, ..., 97.5, 100. The last point is the 99.5th percentile (the true maximum, 214, is an
# outlier). Computed once with symusic from ../shared/data/pop909; only the numbers are kept here.
POP909_DENSITY_QUANTILES = np.array([
    0.0, 7.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 14.0, 15.0, 15.0, 16.0, 16.0, 17.0, 17.0, 18.0, 18.0,
    19.0, 19.0, 20.0, 20.0, 21.0, 21.0, 22.0, 22.0, 23.0, 23.0, 24.0, 24.0, 25.0, 25.0, 26.0, 27.0, 28.0,
    29.0, 30.0, 31.0, 33.0, 35.0, 38.0, 47.0,
])
# Every reference counts notes per 4/4 bar: the built-in one, and a model's density_reference.json
# (notes per bar over its training bars; POP909's shards are nearly all 4/4, and a model trained on
# other data is assumed to be mostly 4/4 too). Bars of other lengths scale it by their length.
REFERENCE_QUARTERS_PER_BAR = 4.0


def average_ranks(values: np.ndarray) -> np.ndarray:
    """0-based ranks; tied values share the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values))
    for value in np.unique(values):
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def match_percentiles(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Map each value to the reference's value at the same percentile.

    Args:
        values: [B] per-bar quantity (e.g. motion).
        reference: sorted samples (or evenly spaced quantiles) of the target distribution.
    Returns:
        [B] float64. All equal inputs map to the reference median.
    """
    values = np.asarray(values, dtype=np.float64)
    reference = np.sort(np.asarray(reference, dtype=np.float64))
    if len(reference) == 0:
        raise ValueError("the reference density distribution is empty")
    if len(values) == 0:
        return values
    if np.ptp(values) <= 1e-9 * max(1.0, float(np.abs(values).max())):
        percentiles = np.full(len(values), 0.5)
    else:
        percentiles = (average_ranks(values) + 0.5) / len(values)
    return np.quantile(reference, percentiles)


def density_targets(bar_motion: np.ndarray, sections: np.ndarray, reference: np.ndarray | None = None,
                    bar_quarters: float = 4.0, section_weight: float = 0.5) -> np.ndarray:
    """Target notes per bar.

    Each bar's motion is blended with the mean motion of its section (so densities step at cuts, and
    stay steadier within a shot), then percentile-matched to the reference.

    Args:
        bar_motion: [B] mean motion of each bar.
        sections: [B] section index of each bar.
        reference: notes-per-4/4-bar samples from the training data (a model's density reference);
            None uses POP909's distribution. Either is scaled by `bar_quarters / 4`, so a 3/4 bar
            gets three quarters of the notes of a 4/4 bar at the same motion percentile.
        bar_quarters: bar length in quarter notes (3/4: 3, 6/8: 3, 7/8: 3.5).
        section_weight: share of the section mean in the blend, 0..1.
    Returns:
        [B] notes per bar, rounded to 0.1.
    """
    if not 0 <= section_weight <= 1:
        raise ValueError(f"section_weight must be in 0..1, got {section_weight}")
    bar_motion = np.asarray(bar_motion, dtype=np.float64)
    sections = np.asarray(sections)
    section_mean = np.array([bar_motion[sections == s].mean() for s in sections])
    blended = (1 - section_weight) * bar_motion + section_weight * section_mean
    if not bar_quarters > 0:
        raise ValueError(f"bar_quarters must be positive, got {bar_quarters}")
    base = POP909_DENSITY_QUANTILES if reference is None else np.asarray(reference, dtype=np.float64)
    return np.round(match_percentiles(blended, base * (bar_quarters / REFERENCE_QUARTERS_PER_BAR)), 1)
