"""A key suggested by the picture's mood, when the user gives none.

The heuristic, in two steps:

1. Mode. valence = (brightness - 0.45) + 0.6 (saturation - 0.30) + 0.8 warmth, from the video's mean
   brightness (0..1), saturation (0..1) and warmth (mean red minus blue, -1..1). Bright, colourful,
   warm pictures (valence >= 0) get a major key; dark, grey or cold ones a minor key. This follows the
   common finding that brightness and warm hues go with positive valence, and that major/minor is the
   strongest musical carrier of valence.
2. Tonic. Start from the plainest key of the mode (C major, A minor) and move round the circle of
   fifths by round(8 (brightness - 0.5)), at most 2 steps: brighter pictures get sharper keys (G, D
   major; E, B minor), darker ones flatter keys (F, Bb major; D, G minor). All ten candidates are
   common, comfortable keys for the instruments we write for.
"""

from __future__ import annotations

from symbolic.analysis import key_name

NEUTRAL_BRIGHTNESS, NEUTRAL_SATURATION = 0.45, 0.30
SATURATION_WEIGHT, WARMTH_WEIGHT = 0.6, 0.8
HOME_TONIC = {"major": 0, "minor": 9}  # C major, A minor
MAX_FIFTHS = 2


def mood_valence(brightness: float, saturation: float, warmth: float) -> float:
    """Positive for bright, colourful, warm pictures; negative for dark, grey, cold ones."""
    return (brightness - NEUTRAL_BRIGHTNESS) + SATURATION_WEIGHT * (saturation - NEUTRAL_SATURATION) \
        + WARMTH_WEIGHT * warmth


def suggest_key(brightness: float, saturation: float, warmth: float) -> tuple[int, str]:
    """(tonic pitch class, "major" | "minor") for a picture's mean mood values."""
    mode = "major" if mood_valence(brightness, saturation, warmth) >= 0 else "minor"
    fifths = max(-MAX_FIFTHS, min(MAX_FIFTHS, round(8 * (brightness - 0.5))))
    return (HOME_TONIC[mode] + 7 * fifths) % 12, mode


def suggest_key_name(brightness: float, saturation: float, warmth: float) -> str:
    """The suggested key as text, e.g. "E minor"."""
    return key_name(*suggest_key(brightness, saturation, warmth))
