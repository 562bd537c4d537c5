"""Tempo from the visual rhythm, and fitting whole bars to the video.

The visual impact envelope's autocorrelation is scored at each candidate beat period with a comb
(the period and its 2nd and 3rd multiples, linearly interpolated between grid lags), times a broad
log-normal preference around 110 BPM. The autocorrelation is the biased estimate, which decays with
lag, so among a period and its multiples the shortest real period wins. The result is folded into
60-160 BPM by octaves. A video without a clear rhythm gets a tempo from its motion level instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TEMPO_RANGE = (60.0, 160.0)
PERIOD_RANGE_BPM = (40.0, 240.0)  # beat periods searched before folding
PRIOR_CENTRE_BPM, PRIOR_OCTAVES = 110.0, 1.0
MIN_CONFIDENCE = 0.2  # comb score below which the visual rhythm is not trusted
MIN_VISUAL_BEATS = 3
LIVELY_MOTION = 0.5  # motion (grey change per second) at which the motion-level tempo tops out
MOTION_TEMPO_RANGE = (72.0, 128.0)


@dataclass(frozen=True)
class TempoEstimate:
    """A tempo and where it came from.

    Attributes:
        bpm: quarter notes per minute, inside TEMPO_RANGE.
        source: "visual rhythm" or "motion level".
        confidence: comb score of the chosen period (0..1), 0 for the motion-level fallback.
    """

    bpm: float
    source: str
    confidence: float


def fold_tempo(bpm: float, low: float = TEMPO_RANGE[0], high: float = TEMPO_RANGE[1]) -> float:
    """Double or halve `bpm` until it lies in [low, high]."""
    while bpm < low:
        bpm *= 2.0
    while bpm > high:
        bpm /= 2.0
    return bpm


def autocorrelation(envelope: np.ndarray) -> np.ndarray:
    """Biased autocorrelation of the mean-removed envelope, normalised to 1 at lag 0. [N]"""
    x = np.asarray(envelope, dtype=np.float64)
    x = x - x.mean()
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    return ac / ac[0] if ac[0] > 0 else np.zeros(n)


def comb_scores(ac: np.ndarray, fps: float, bpms: np.ndarray, multiples: int = 3) -> np.ndarray:
    """Mean autocorrelation at 1..multiples beat periods, for each candidate beat rate. [C]"""
    lags = np.arange(len(ac))
    scores = np.zeros(len(bpms))
    for m in range(1, multiples + 1):
        lag = m * 60.0 / bpms * fps
        scores += np.where(lag < len(ac) - 1, np.interp(lag, lags, ac), 0.0)
    return scores / multiples


def estimate_tempo(impact: np.ndarray, motion: np.ndarray, fps: float, n_visual_beats: int,
                   beat_unit: int = 4) -> TempoEstimate:
    """Tempo suggested by the video.

    Args:
        impact: [N] visual impact envelope on the feature grid.
        motion: [N] motion magnitude on the same grid.
        fps: grid points per second.
        n_visual_beats: number of visual beats found.
        beat_unit: the metre's denominator; the visual period is one beat of this unit.
    """
    quarter_per_beat = 4.0 / beat_unit
    if n_visual_beats >= MIN_VISUAL_BEATS and len(impact) > 4 and np.std(impact) > 0:
        bpms = np.arange(PERIOD_RANGE_BPM[0], PERIOD_RANGE_BPM[1] + 1e-9, 0.5)
        scores = comb_scores(autocorrelation(impact), fps, bpms)
        prior = np.exp(-0.5 * (np.log2(bpms / PRIOR_CENTRE_BPM) / PRIOR_OCTAVES) ** 2)
        best = int(np.argmax(scores * prior))
        if scores[best] >= MIN_CONFIDENCE:
            bpm = fold_tempo(bpms[best] / quarter_per_beat)
            return TempoEstimate(round(float(bpm), 2), "visual rhythm", float(scores[best]))
    level = float(np.median(motion)) if len(motion) else 0.0
    low, high = MOTION_TEMPO_RANGE
    bpm = low + (high - low) * min(1.0, max(0.0, level / LIVELY_MOTION))
    return TempoEstimate(round(float(bpm), 2), "motion level", 0.0)


@dataclass(frozen=True)
class BarFit:
    """How the bars cover the video.

    Attributes:
        tempo: the tempo used (possibly adjusted).
        n_bars: bars of music.
        fade_out_s: fade at the end (0 when whole bars end with the video).
        adjusted: whether the tempo was changed to fit whole bars.
    """

    tempo: float
    n_bars: int
    fade_out_s: float
    adjusted: bool


def bar_seconds(tempo: float, time_signature: tuple[int, int]) -> float:
    num, den = time_signature
    return num * 60.0 / tempo * 4.0 / den


def _misalignment(cuts: list[float], bar_s: float) -> float:
    """Mean distance of cuts to their nearest bar line, in bars (0..0.5)."""
    if not cuts:
        return 0.0
    phase = np.asarray(cuts) / bar_s
    return float(np.mean(np.abs(phase - np.round(phase))))


def fit_bars(duration: float, tempo: float, time_signature: tuple[int, int], *, tempo_fixed: bool,
             cuts: list[float] = (), max_change: float = 0.1, fade_beats: float = 2.0) -> BarFit:
    """Choose the number of bars so the music ends with the video.

    With an estimated tempo, the tempo moves by at most `max_change` (relative) so that a whole number
    of bars fits; among the candidates, the one balancing a small change and cuts near bar lines
    wins. With a fixed tempo (or no candidate in range), the last bar is cut at the video's end and
    faded over `fade_beats` beats.
    """
    bar_s = bar_seconds(tempo, time_signature)
    exact = duration / bar_s
    beat_s = bar_s / time_signature[0]
    if not tempo_fixed:
        best = None
        for n in range(max(1, math.floor(exact) - 1), math.ceil(exact) + 2):
            candidate = tempo * n / exact
            change = abs(math.log(candidate / tempo))
            if change > math.log1p(max_change) or not TEMPO_RANGE[0] <= candidate <= TEMPO_RANGE[1]:
                continue
            cost = 10.0 * change + _misalignment(list(cuts), bar_seconds(candidate, time_signature))
            if best is None or cost < best[0]:
                best = (cost, n, candidate)
        if best is not None:
            return BarFit(round(best[2], 3), best[1], 0.0, abs(best[2] - tempo) > 0.005)
    # Cover the video and cut the last bar at its end; a sliver under 0.1 beat is neither a bar of
    # its own nor worth a fade.
    sliver = 0.1 / time_signature[0]
    n = max(1, math.ceil(exact - sliver))
    fade = 0.0 if abs(n - exact) < sliver else min(fade_beats * beat_s, duration / 2)
    return BarFit(tempo, n, round(fade, 3), False)
