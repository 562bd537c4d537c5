"""The Switch Schedule: which condition streams each training sample sees, as training progresses.

Four choices per sample: "video" (video stream only), "chords" (chord stream only), "both", "none"
(unconditional, for classifier-free guidance). Their weights are given at milestones of training
progress (0 = start, 1 = end) and interpolated linearly in between, e.g. chord-heavy early and all
four later:

    SwitchSchedule([(0.0, {"chords": 0.6, "both": 0.3, "none": 0.1}),
                    (0.5, {"video": 0.3, "chords": 0.2, "both": 0.4, "none": 0.1})])
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import Tensor

CHOICES = ("video", "chords", "both", "none")
# Which streams each choice fuses: (use_video, use_chords).
STREAMS = {"video": (True, False), "chords": (False, True), "both": (True, True), "none": (False, False)}


class SwitchSchedule:
    """Per-sample stream choice with weights interpolated in training progress.

    Args:
        milestones: [(progress, {choice: weight}), ...] with progress in [0, 1], strictly increasing;
            missing choices weigh 0; weights >= 0 with a positive sum at every milestone. Before the
            first and after the last milestone the nearest one holds.
    """

    def __init__(self, milestones: list[tuple[float, dict[str, float]]]):
        if not milestones:
            raise ValueError("a SwitchSchedule needs at least one milestone (progress, weights)")
        self.milestones = [(float(progress), _normalised(weights)) for progress, weights in milestones]
        points = [progress for progress, _ in self.milestones]
        if any(not 0 <= p <= 1 for p in points):
            raise ValueError(f"milestone progress values must be in [0, 1], got {points}")
        if any(b <= a for a, b in pairwise(points)):
            raise ValueError(f"milestone progress values must be strictly increasing, got {points}")

    @classmethod
    def constant(cls, weights: dict[str, float]) -> SwitchSchedule:
        """The same weights throughout training."""
        return cls([(0.0, weights)])

    def probabilities(self, progress: float) -> dict[str, float]:
        """Probability of each choice at `progress` (clamped to [0, 1])."""
        progress = min(max(float(progress), 0.0), 1.0)
        points = self.milestones
        if progress <= points[0][0]:
            return dict(points[0][1])
        for (p0, w0), (p1, w1) in pairwise(points):
            if progress <= p1:
                mix = (progress - p0) / (p1 - p0)
                return {choice: (1 - mix) * w0[choice] + mix * w1[choice] for choice in CHOICES}
        return dict(points[-1][1])

    def sample(self, batch_size: int, progress: float,
               generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Draw a choice per sample.

        Returns:
            use_video [batch_size] bool, use_chords [batch_size] bool (on the CPU).
        """
        probabilities = self.probabilities(progress)
        weights = torch.tensor([probabilities[choice] for choice in CHOICES], dtype=torch.float64)
        drawn = torch.multinomial(weights, batch_size, replacement=True, generator=generator)
        table = torch.tensor([STREAMS[choice] for choice in CHOICES], dtype=torch.bool)
        return table[drawn, 0], table[drawn, 1]

    def __repr__(self) -> str:
        return f"SwitchSchedule({self.milestones!r})"


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(CHOICES))
    if unknown:
        raise ValueError(f"unknown Switch Schedule choices {unknown}; use {list(CHOICES)}")
    values = {choice: float(weights.get(choice, 0.0)) for choice in CHOICES}
    if any(not math.isfinite(v) or v < 0 for v in values.values()) or sum(values.values()) <= 0:
        raise ValueError(f"Switch Schedule weights must be finite, >= 0 and not all 0, got {weights}")
    total = sum(values.values())
    return {choice: value / total for choice, value in values.items()}
