"""Scene cuts and visual beats from per-frame change measurements on a regular time grid.

Cuts: a grid point whose change score (colour histogram distance, or twice the mean colour
difference, whichever is larger) is high in absolute terms, high relative to its neighbourhood,
and a local maximum. The relative test keeps fast motion from reading as cuts.

Visual beats follow Davis & Agrawala ("Visual Rhythm and Beat", 2018), whose visual beats CMT
uses: an impact is a sudden slowing of motion (a foot landing, a ball hitting, a camera stopping);
the impact envelope is the half-wave rectified decrease of smoothed motion, and visual beats are
its prominent local peaks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RhythmSettings:
    """Thresholds of cut and visual-beat detection.

    Attributes:
        cut_threshold: smallest change score (0..1) that can be a cut.
        cut_contrast: a cut's score must exceed this many times the median score around it ...
        cut_margin: ... plus this margin.
        cut_window_s: half-width of that neighbourhood in seconds.
        cut_min_gap_s: two cuts closer than this keep only the stronger.
        beat_min_gap_s: two visual beats closer than this keep only the stronger.
        beat_floor: an impact below this fraction of the local 95th-percentile motion is not a beat.
        beat_window_s: half-width of the window the beat thresholds are measured over.
        beat_min_impact: an impact below this (motion units) is never a beat.
    """

    cut_threshold: float = 0.35
    cut_contrast: float = 3.0
    cut_margin: float = 0.1
    cut_window_s: float = 1.0
    cut_min_gap_s: float = 0.4
    beat_min_gap_s: float = 0.2
    beat_floor: float = 0.05
    beat_window_s: float = 2.0
    beat_min_impact: float = 0.002

    def __post_init__(self) -> None:
        for name in ("cut_threshold", "cut_contrast", "cut_window_s", "cut_min_gap_s", "beat_min_gap_s", "beat_window_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


def cut_scores(histogram_change: np.ndarray, colour_change: np.ndarray) -> np.ndarray:
    """Change score per grid point, 0..1.

    Args:
        histogram_change: [N] colour histogram distance to the previous grid point.
        colour_change: [N] mean colour difference to the previous grid point.
    """
    return np.maximum(histogram_change, np.minimum(1.0, 2.0 * colour_change))


def _keep_strongest(candidates: list[int], scores: np.ndarray, min_gap: int) -> list[int]:
    kept: list[int] = []
    for k in sorted(candidates, key=lambda i: -scores[i]):
        if all(abs(k - j) >= min_gap for j in kept):
            kept.append(k)
    return sorted(kept)


def detect_cuts(scores: np.ndarray, fps: float, settings: RhythmSettings = RhythmSettings()) -> list[int]:
    """Grid indices where a new shot is first seen.

    Args:
        scores: [N] change score per grid point (`cut_scores`).
        fps: grid points per second.
    Returns:
        sorted indices k (the shot changes between grid points k-1 and k).
    """
    window = max(2, int(round(settings.cut_window_s * fps)))
    candidates = []
    for k in np.flatnonzero(scores >= settings.cut_threshold):
        if k == 0:
            continue
        around = np.concatenate([scores[max(0, k - window): max(0, k - 1)], scores[k + 2: k + 1 + window]])
        local = float(np.median(around)) if around.size else 0.0
        if scores[k] > settings.cut_contrast * local + settings.cut_margin:
            candidates.append(int(k))
    return _keep_strongest(candidates, scores, max(1, int(round(settings.cut_min_gap_s * fps))))


def smooth(values: np.ndarray) -> np.ndarray:
    """A [1, 2, 1] / 4 smoothing that keeps the length and the ends."""
    if values.size < 3:
        return values.astype(np.float32)
    padded = np.pad(values.astype(np.float32), 1, mode="edge")
    return 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]


def impact_envelope(motion: np.ndarray, cut_indices: list[int]) -> np.ndarray:
    """Visual impact per grid point: how suddenly motion slows down there.

    Args:
        motion: [N] motion magnitude with cuts already removed.
        cut_indices: grid indices of cuts; the envelope is zero next to them (a cut is an accent of
            its own, not an impact of motion).
    Returns:
        [N] float32, >= 0: envelope[k] is how much smoothed motion drops right after t_k.
    """
    smoothed = smooth(motion)
    envelope = np.zeros_like(smoothed)
    # motion[k] measures the change over the grid step ending at t_k, so a drop from step k to step
    # k+1 happens around t_k: that is where the impact is placed.
    envelope[:-1] = np.maximum(0.0, smoothed[:-1] - smoothed[1:])
    for k in cut_indices:
        envelope[max(0, k - 2): k + 2] = 0.0
    return envelope


def detect_visual_beats(envelope: np.ndarray, motion: np.ndarray, fps: float,
                        settings: RhythmSettings = RhythmSettings()) -> list[int]:
    """Grid indices of visual beats: prominent local peaks of the impact envelope.

    A peak must be the largest value within half the minimum gap on each side and, measured over a
    window of `beat_window_s` around it (so quiet passages keep their own beats), exceed the
    envelope's mean plus half its standard deviation and `beat_floor` times the 95th-percentile
    motion; and it must exceed `beat_min_impact` overall.
    """
    if envelope.size < 3 or not np.any(envelope > settings.beat_min_impact):
        return []
    radius = max(1, int(round(settings.beat_min_gap_s * fps / 2)))
    window = max(radius + 1, int(round(settings.beat_window_s * fps)))
    peaks = []
    for k in np.flatnonzero(envelope > settings.beat_min_impact):
        if envelope[k] < envelope[max(0, k - radius): k + radius + 1].max():
            continue
        around = envelope[max(0, k - window): k + window + 1]
        floor = settings.beat_floor * float(np.percentile(motion[max(0, k - window): k + window + 1], 95))
        if envelope[k] > max(floor, float(around.mean() + 0.5 * around.std())):
            peaks.append(int(k))
    return _keep_strongest(peaks, envelope, max(1, int(round(settings.beat_min_gap_s * fps))))
