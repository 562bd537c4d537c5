"""Per-frame measurements on small RGB frames: colour, colour histogram and mood.

All values are cheap numpy reductions over a frame of about 128 x 72 pixels, so they cost far less
than decoding the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 weights
HIST_LEVELS = 4  # levels per channel of the joint colour histogram (4**3 = 64 bins)
# Colour changes up to this size are sensor noise and compression flicker, not motion.
NOISE_LEVEL = 0.02


@dataclass(frozen=True)
class FrameStats:
    """Measurements of one frame.

    Attributes:
        rgb: [H, W, 3] float32 colour in 0..1.
        histogram: [64] joint RGB histogram, sums to 1.
        brightness: mean grey level, 0..1.
        saturation: mean HSV saturation, 0..1.
        warmth: mean (red - blue), -1 (blue) .. 1 (red).
    """

    rgb: np.ndarray
    histogram: np.ndarray
    brightness: float
    saturation: float
    warmth: float


def frame_stats(image: np.ndarray) -> FrameStats:
    """Measure one frame.

    Args:
        image: [H, W, 3] uint8 RGB.
    """
    rgb = image.astype(np.float32) / 255.0
    grey = rgb @ LUMA
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    saturation = np.where(high > 1e-3, (high - low) / np.maximum(high, 1e-3), 0.0)
    bins = (image >> 6).astype(np.int32)  # 256 / HIST_LEVELS = 64 -> shift by 6
    index = (bins[..., 0] * HIST_LEVELS + bins[..., 1]) * HIST_LEVELS + bins[..., 2]
    histogram = np.bincount(index.ravel(), minlength=HIST_LEVELS ** 3).astype(np.float32)
    histogram /= max(1.0, float(histogram.sum()))
    return FrameStats(
        rgb=rgb,
        histogram=histogram,
        brightness=float(grey.mean()),
        saturation=float(saturation.mean()),
        warmth=float((rgb[..., 0] - rgb[..., 2]).mean()),
    )


def colour_change(a: FrameStats, b: FrameStats, noise: float = NOISE_LEVEL) -> float:
    """Mean over pixels of the colour difference (mean over channels) beyond the noise level, 0..1.

    Colour rather than grey level, so that motion between colours of equal brightness still counts.
    """
    return float(np.maximum(np.abs(a.rgb - b.rgb).mean(axis=-1) - noise, 0.0).mean())


def histogram_change(a: FrameStats, b: FrameStats) -> float:
    """Total variation distance between two colour histograms, 0 (same colours) .. 1 (disjoint)."""
    return float(0.5 * np.abs(a.histogram - b.histogram).sum())
