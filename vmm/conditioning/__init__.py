"""Per-token conditions from per-bar and per-beat controls (training and inference alike)."""

from vmm.conditioning.align import (
    DENSITY_SCALE,
    UNKNOWN_KEY,
    VIDEO_FEATURES,
    align_conditions,
    density_feature,
    sections_from_density,
    token_controls,
)

__all__ = [
    "DENSITY_SCALE",
    "UNKNOWN_KEY",
    "VIDEO_FEATURES",
    "align_conditions",
    "density_feature",
    "sections_from_density",
    "token_controls",
]
