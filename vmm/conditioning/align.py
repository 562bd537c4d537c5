"""Aligning per-bar and per-beat controls to tokens: one function for training and inference.

At training time the controls are computed from the music itself (the CMT trick: no paired video is
needed); at inference they come from the video plan. Both go through `align_conditions`, so the model
sees the same units in both cases.

Video features per token (`VIDEO_FEATURES`, video_dim = 4), each in [0, 1]:

    0 density   log1p(notes in the token's bar) / log1p(DENSITY_SCALE), clipped to [0, 1]. A fixed
                transform, not a per-piece normalisation: the plan gives target notes per bar in the
                same unit (it percentile-matches motion to the training density reference).
    1 strength  strength of the token's beat (0..1, as the shards and the plan give it).
    2 section   1 if the token's bar starts a section: at inference a bar the plan snapped a cut to;
                at training a bar where the music's density changes strongly (`sections_from_density`).
    3 progress  bar / n_bars_total: how far through the piece the token's bar is.

The chord of a token is the chord of its beat (symbolic.chords ids, 0 = no chord); the key is
tonic + 12 * minor, 24 = unknown.

No leakage: nothing here reads tokens. A token's conditions are a function of its own bar index, its
beat index and the controls of that bar and beat, which the plan fixes before generation starts.

Glossary: T tokens, N bars, K beats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from vmm.model import Conditions

VIDEO_FEATURES: tuple[str, ...] = ("density", "strength", "section", "progress")
DENSITY_SCALE = 64.0  # notes per bar that map to density 1.0
UNKNOWN_KEY = 24


def density_feature(notes_per_bar: np.ndarray | torch.Tensor) -> torch.Tensor:
    """log1p(d) / log1p(DENSITY_SCALE), clipped to [0, 1].

    Args:
        notes_per_bar: [...] non-negative note counts (or targets) per bar.

    Returns:
        [...] float32.
    """
    d = torch.as_tensor(np.asarray(notes_per_bar, dtype=np.float32))
    return (torch.log1p(d.clamp(min=0)) / np.log1p(DENSITY_SCALE)).clamp(0.0, 1.0)


def sections_from_density(
    density: np.ndarray | torch.Tensor, *, ratio: float = 2.0, context: int = 2, min_gap: int = 4
) -> list[int]:
    """Training-time section starts: bars whose density departs strongly from the bars just before.

    Bar b (b >= context) is a section start when (d[b] + 1) / (mean(d[b-context:b]) + 1) is at least
    `ratio` or at most 1 / `ratio` (the texture doubles or halves, as at a verse/chorus change or a
    break), and at least `min_gap` bars have passed since the previous start. Bar 0 is not flagged:
    the progress feature already marks the start, and a plan's cut list does not include it either.

    Args:
        density: [N] notes per bar.
        ratio: the density change (> 1) that counts as strong.
        context: bars averaged before b.
        min_gap: minimum bars between two starts.

    Returns:
        sorted bar indices.
    """
    if ratio <= 1.0 or context < 1 or min_gap < 1:
        raise ValueError(f"need ratio > 1, context >= 1, min_gap >= 1; got {ratio}, {context}, {min_gap}")
    d = np.asarray(density, dtype=np.float64) + 1.0
    starts: list[int] = []
    log_ratio = np.log(ratio)
    for b in range(context, len(d)):
        change = abs(np.log(d[b] / d[b - context:b].mean()))
        if change >= log_ratio - 1e-9 and (not starts or b - starts[-1] >= min_gap):
            starts.append(b)
    return starts


def _indices(values: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    index = torch.as_tensor(np.asarray(values)).long()
    if index.ndim != 1:
        raise ValueError(f"{name} must be one index per token, shape [T]; got {tuple(index.shape)}")
    return index


def _gather(table: torch.Tensor, index: torch.Tensor, what: str) -> torch.Tensor:
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= len(table)):
        raise ValueError(f"{what} index out of range: tokens point to {int(index.min())}..{int(index.max())}, "
                         f"controls cover 0..{len(table) - 1}")
    return table[index]


def token_controls(
    bar: np.ndarray | torch.Tensor,
    beat: np.ndarray | torch.Tensor,
    density: np.ndarray | torch.Tensor,
    strength: np.ndarray | torch.Tensor,
    chords: np.ndarray | torch.Tensor,
    section_starts: Sequence[int] | np.ndarray,
    n_bars_total: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The video features and the chord of every token (unbatched).

    Args:
        bar: [T] bar index of each token (global in the piece).
        beat: [T] global beat index of each token.
        density: [N] notes per bar (measured at training, planned at inference).
        strength: [K] strength per beat, 0..1.
        chords: [K] chord id per beat.
        section_starts: bar indices that start a section (cuts).
        n_bars_total: bars in the whole piece (for the progress feature).

    Returns:
        video [T, 4] float32 (see VIDEO_FEATURES), chords [T] int64.
    """
    if n_bars_total < 1:
        raise ValueError(f"n_bars_total must be >= 1, got {n_bars_total}")
    bar_index, beat_index = _indices(bar, "bar"), _indices(beat, "beat")
    if bar_index.shape != beat_index.shape:
        raise ValueError(f"bar {tuple(bar_index.shape)} and beat {tuple(beat_index.shape)} differ in length")
    density_per_bar = density_feature(density)
    section = torch.zeros(len(density_per_bar))
    starts = torch.as_tensor(np.asarray(section_starts, dtype=np.int64)).long()
    section[starts[(starts >= 0) & (starts < len(section))]] = 1.0
    strength_per_beat = torch.as_tensor(np.asarray(strength, dtype=np.float32)).clamp(0.0, 1.0)
    chord_per_beat = torch.as_tensor(np.asarray(chords, dtype=np.int64)).long()
    video = torch.stack(
        [
            _gather(density_per_bar, bar_index, "bar"),
            _gather(strength_per_beat, beat_index, "beat"),
            _gather(section, bar_index, "bar"),
            (bar_index.float() / n_bars_total).clamp(0.0, 1.0),
        ],
        dim=-1,
    )
    return video, _gather(chord_per_beat, beat_index, "beat")


def align_conditions(
    bar: np.ndarray | torch.Tensor,
    beat: np.ndarray | torch.Tensor,
    density: np.ndarray | torch.Tensor,
    strength: np.ndarray | torch.Tensor,
    chords: np.ndarray | torch.Tensor,
    section_starts: Sequence[int] | np.ndarray,
    n_bars_total: int,
    key: int | None = None,
) -> Conditions:
    """Conditions for one sequence, batched with B = 1 and both streams on.

    Args: as `token_controls`, plus `key` (tonic + 12 * minor; None or negative = unknown, 24).

    Returns:
        Conditions(video [1, T, 4], chords [1, T], key [1]).
    """
    video, chord_ids = token_controls(bar, beat, density, strength, chords, section_starts, n_bars_total)
    key_id = UNKNOWN_KEY if key is None or int(key) < 0 else int(key)
    return Conditions(video=video[None], chords=chord_ids[None], key=torch.tensor([key_id]))
