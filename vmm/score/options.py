"""What a user can ask of `vmm score` and `vmm compose` (kept light: the CLI imports it at start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vmm.generate.guidance import DEFAULT_CHORD_BONUS, DEFAULT_DENSITY_TOLERANCE

DEFAULT_INSTRUMENTS = "piano,strings,bass,drums"


@dataclass
class ScoreOptions:
    """The user's wishes; None lets the plan decide."""

    out_dir: Path
    tempo: float | None = None
    key: str | None = None
    chords: str | None = None
    instruments: str = DEFAULT_INSTRUMENTS
    time_signature: str = "4/4"
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 0.95
    cfg_scale: float = 1.0
    chord_guidance: float = DEFAULT_CHORD_BONUS  # nats, 0 = off (PlanGuidance.from_strengths)
    density_guidance: float | None = DEFAULT_DENSITY_TOLERANCE  # relative tolerance, None = off
    soundfont: str | None = None
    audio: bool = True
    model_dir: Path | None = None
    clip_weights: Path | None = None
    audio_model_dir: Path | None = None
    force: bool = False
