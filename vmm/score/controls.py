"""Turning a musical plan into the controls the generator follows."""

from __future__ import annotations

import numpy as np

from symbolic.analysis import parse_key
from vmm.generate.generator import ScoreControls
from vmm.harmony import chord_plan_for_key


def key_id(key: str | None) -> int | None:
    """"A minor" -> tonic + 12 * minor (the model's key id), None when unknown."""
    if not key:
        return None
    tonic, mode = parse_key(key)
    return tonic + 12 * (mode == "minor")


def controls_from_plan(plan, *, programs: list[int] | None, seed: int = 0) -> ScoreControls:
    """ScoreControls for a MusicalPlan; chords come from the plan, else a progression in its key."""
    beats_per_bar = plan.time_signature[0]
    if plan.chords is not None:
        chords = np.asarray(plan.chords, dtype=np.int64)
    else:
        tonic, mode = parse_key(plan.key)
        chords = chord_plan_for_key(tonic, mode, plan.n_bars, beats_per_bar,
                                    section_starts=list(plan.section_starts), seed=seed)
    return ScoreControls(
        n_bars=plan.n_bars,
        tempo=plan.tempo,
        density=np.asarray(plan.density, dtype=np.float32),
        strength=np.asarray(plan.strength, dtype=np.float32),
        chords=chords,
        time_signature=tuple(plan.time_signature),
        section_starts=list(plan.section_starts),
        key=key_id(plan.key),
        programs=programs,
    )
