"""A plan without a video (`vmm compose`): bars, tempo, metre, key and chords from the user, and a
verse/chorus shape of eight-bar sections alternating calmer and busier density."""

from __future__ import annotations

import numpy as np

from symbolic.chords import parse_chord_progression
from vmm.errors import VMMError
from vmm.plan.density import density_targets
from vmm.plan.make import chords_per_beat, parse_time_signature
from vmm.plan.plan import MusicalPlan

SECTION_BARS = 8
DEFAULT_TEMPO, DEFAULT_KEY = 100.0, "C major"
MIN_TEMPO, MAX_TEMPO = 40.0, 250.0  # the tokenizer's tempo range


def beat_accents(beats_per_bar: int) -> list[float]:
    """Strength of each beat in a bar: the downbeat strongest, the middle of an even bar next."""
    accents = [0.35] * beats_per_bar
    accents[0] = 1.0
    if beats_per_bar % 2 == 0 and beats_per_bar > 2:
        accents[beats_per_bar // 2] = 0.7
    return accents


def compose_plan(
    bars: int,
    *,
    tempo: float | None = None,
    time_signature: str | tuple[int, int] = (4, 4),
    key: str | None = None,
    chords: str | None = None,
    instruments: list[str] | None = None,
    density_reference: np.ndarray | None = None,
) -> MusicalPlan:
    """A MusicalPlan of `bars` bars; chords None lets the generator pick a progression in the key."""
    if not 1 <= bars <= 1024:
        raise VMMError(f"--bars must be between 1 and 1024, got {bars}")
    tempo_source = "user" if tempo is not None else "default"
    tempo = DEFAULT_TEMPO if tempo is None else tempo
    if not MIN_TEMPO <= tempo <= MAX_TEMPO:
        raise VMMError(f"--tempo must be {MIN_TEMPO:g}-{MAX_TEMPO:g} quarter notes per minute, got {tempo:g}")
    signature = parse_time_signature(time_signature)
    beats_per_bar = signature[0]
    bar_s = 60.0 / tempo * 4.0 / signature[1] * beats_per_bar
    sections = np.arange(bars) // SECTION_BARS
    energy = np.where(sections % 2 == 0, 0.4, 0.8) + np.linspace(0, 0.1, bars)
    density = density_targets(energy, sections, density_reference, bar_quarters=beats_per_bar * 4.0 / signature[1])
    chord_ids = None if chords is None else chords_per_beat(parse_chord_progression(chords), bars, beats_per_bar)
    return MusicalPlan(
        tempo=float(tempo), time_signature=signature, n_bars=bars, beats_per_bar=beats_per_bar,
        duration_s=round(bars * bar_s, 4), music_duration_s=round(bars * bar_s, 4), fade_out_s=0.0,
        bar_times=[round(b * bar_s, 4) for b in range(bars + 1)], cuts=[],
        density=[float(d) for d in density], strength=beat_accents(beats_per_bar) * bars,
        section_starts=list(range(0, bars, SECTION_BARS)), key=key or DEFAULT_KEY,
        key_source="user" if key else "default", chords=chord_ids, instruments=instruments,
        tempo_source=tempo_source,
    )
